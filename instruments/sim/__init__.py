"""instruments/sim."""
