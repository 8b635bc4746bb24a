"""Errors of the command layer, kept import-light so the error path never fails to import."""


class SessionError(Exception):
    """A run cannot start; the message says what to change."""
