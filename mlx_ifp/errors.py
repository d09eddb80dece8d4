"""The package's exceptions: bad user input (the CLI prints it as one line and exits 2), and a
run stopped by Ctrl-C after saving (one line, exit 130)."""


class UsageError(ValueError):
    """Bad input from the user (a path, a flag value, a mismatched file)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run cleanly; the message says what was saved and how to go on."""
