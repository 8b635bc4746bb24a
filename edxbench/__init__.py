"""The `edxbench` command: the terminal app and the headless face of one engine."""

__version__ = "0.1.0"
