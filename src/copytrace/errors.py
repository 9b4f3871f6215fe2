"""One exception hierarchy for copytrace.

::

    CopytraceError            base: every error copytrace raises on purpose
     +-- InputError           a file or record cannot be read (names the file and line/record)
     +-- ConfigError          a parameter has a value outside what it accepts
     +-- StoreError           the persistent index cannot be opened, locked or written
     +-- EngineError          an execution engine (local pool, Spark) failed or is missing
     +-- OutputError          an output or work file cannot be written (full disk, no permission)
     +-- ResumeError          ``scan --resume`` found work from different inputs or settings

The CLI maps every ``CopytraceError`` to exit status 2 and one readable line
(``copytrace: error: <message>``); tracebacks only with ``--debug``.
"""

from __future__ import annotations


class CopytraceError(Exception):
    """Base class of every error copytrace raises on purpose."""


class InputError(CopytraceError):
    """Bad input: names the file and, where there is one, the line or record."""

    def __init__(self, path: str, message: str, record: str | int | None = None) -> None:
        self.path = path
        self.record = record
        self.reason = message
        where = f"{path}" if record is None else f"{path}: {record}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str | int | None]]:
        # keeps the error intact across worker processes
        return (type(self), (self.path, self.reason, self.record))


class ConfigError(CopytraceError):
    """A setting outside what it accepts: names the parameter, allowed values and value received."""

    def __init__(self, name: str, allowed: str, received: object) -> None:
        self.name = name
        self.allowed = allowed
        self.received = received
        super().__init__(f"the {name!r} parameter must be {allowed}; got {received!r}")

    def __reduce__(self) -> tuple[type, tuple[str, str, object]]:
        return (type(self), (self.name, self.allowed, self.received))


class StoreError(CopytraceError):
    """The persistent index cannot be opened, locked or written."""


class EngineError(CopytraceError):
    """An execution engine failed or is not installed."""


class OutputError(CopytraceError):
    """An output or work file cannot be written: names the folder or file and the OS reason."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")


class ResumeError(CopytraceError):
    """``scan --resume`` found a work folder made from different inputs or settings."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")
