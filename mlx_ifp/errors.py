"""The one exception type for bad user input: the CLI prints it as one line and exits 2."""


class UsageError(ValueError):
    """Bad input from the user (a path, a flag value, a mismatched file)."""
