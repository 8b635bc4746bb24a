"""The run lives apart from the terminal: an engine host process, its clients, the wire."""
