"""Errors a user can act on.

Anything raised as a :class:`UserError` is shown as one line (``error: ...``) and exits with code 2;
everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input: a file, a field, a value. The message names it."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration value; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class DataError(UserError):
    """Unreadable or invalid data; the message names the file and, where known, the row or line."""

    def __init__(self, source: str, message: str, line: int | None = None):
        where = f"{source}, line {line}" if line is not None else str(source)
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line


def exit_on_user_error(main) -> int:
    """Run a script's ``main()`` the way the CLI does: a :class:`UserError` becomes one ``error:`` line
    on stderr and exit code 2 (benchmarks and tools share this, so bad ``--data`` never shows a traceback)."""
    import sys

    try:
        return main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
