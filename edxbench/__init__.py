"""edxbench."""
