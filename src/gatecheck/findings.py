"""`Finding` mirrors one entry of the JSON contract's ``findings`` list."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gatecheck.redact import inert


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    object: str | None = None
    #: Kind-specific JSON fields after the contract's ten (``count``, ``sample``).
    extra: tuple[tuple[str, Any], ...] = field(default=())
    #: Stable identity across line shifts (baselines, SARIF); set by the engine.
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Values come from the repository and the database: no control
        # character (a line break starting a "::error::" line, a terminal
        # escape) reaches any output format (gatecheck.redact).
        for name in ("rule", "message", "path", "object"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, inert(value))
        if self.extra:
            object.__setattr__(self, "extra", tuple((k, _inert_json(v)) for k, v in self.extra))

    @property
    def database(self) -> str | None:
        """Which of several databases (``databases:``) the finding is about."""
        return next((v for k, v in self.extra if k == "database"), None)

    @property
    def where(self) -> str:
        """A schema finding's place: ``db:tasks``, or ``db[analytics]:tasks``."""
        db = f"db[{self.database}]" if self.database else "db"
        return f"{db}:{self.object}" if self.object else db

    def sort_key(self) -> tuple[Any, ...]:
        # Schema findings (no path) sort before file findings: "" < any path.
        return (self.path or "", self.line or 0, self.column or 0, self.rule,
                self.database or "", self.object or "", self.message)

    def place_key(self) -> tuple[Any, ...]:
        """What makes two findings the same: rule, message, object and exact place."""
        return (*self.sort_key(), self.end_line, self.end_column)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule, "kind": self.kind, "severity": self.severity.label,
            "message": self.message, "path": self.path, "line": self.line,
            "column": self.column, "end_line": self.end_line, "end_column": self.end_column,
            "object": self.object,
        }
        out.update(self.extra)
        return out


def _inert_json(value: Any) -> Any:
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, list):
        return [_inert_json(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_inert_json(v) for v in value)
    if isinstance(value, dict):
        return {k: _inert_json(v) for k, v in value.items()}
    return value
