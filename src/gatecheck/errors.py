"""The errors gatecheck reports to its user (exit code 2), never as tracebacks."""

from __future__ import annotations


class GatecheckError(Exception):
    """A problem the user must fix: bad config, unreadable input, no database.

    ``str(error)`` is the complete, user-facing message, location first.
    """

    def __init__(self, message: str, *, path: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        # One error, one line: a value quoted in the message (a file name, a
        # YAML string) may hold line breaks of its own.
        self.message = message.replace("\r", "\\r").replace("\n", "\\n")
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[object, ...]:
        # Worker processes send errors back pickled: keep the location fields.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return where + self.message


class ConfigError(GatecheckError):
    """The rules file or a pack is invalid (possibly several problems at once)."""

    def __init__(self, message: str, *, problems: list["GatecheckError"] | None = None,
                 **where: object) -> None:
        self.problems = problems or []
        super().__init__(message, **where)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.problems:
            return "\n".join(str(p) for p in self.problems)
        return super().__str__()


class SourceError(GatecheckError):
    """A source file cannot be read or parsed (the other files are still checked)."""


class DatabaseError(GatecheckError):
    """The database cannot be opened or introspected."""


def _rebuild(cls: type[GatecheckError], message: str, state: dict[str, object]) -> GatecheckError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error
