"""Typed errors raised by the CQL engine.

Every failure that escapes the engine is a :class:`CqlError`. Callers never see a bare
KeyError or TypeError: bad ELM raises :class:`ElmError`, a fault while evaluating raises
:class:`CqlEvaluationError`, and a ``Message`` with severity ``Error`` raises
:class:`CqlMessageError`. Each names the library, the define and the ELM locator when known.
"""

from __future__ import annotations


class CqlError(Exception):
    """Base class of every error the engine raises."""

    def __init__(
        self,
        message: str,
        *,
        library: str | None = None,
        define: str | None = None,
        locator: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.library = library
        self.define = define
        self.locator = locator

    def located(
        self, *, library: str | None = None, define: str | None = None, locator: str | None = None
    ) -> CqlError:
        """Fill in whatever place information is still missing; returns self."""
        self.library = self.library or library
        self.define = self.define or define
        self.locator = self.locator or locator
        return self

    def __str__(self) -> str:
        where = ", ".join(
            f"{k} {v}"
            for k, v in (("library", self.library), ("define", self.define), ("at", self.locator))
            if v
        )
        return f"{self.message} ({where})" if where else self.message


class ElmError(CqlError):
    """The ELM is malformed or uses something the engine does not support."""


class CqlEvaluationError(CqlError):
    """A run-time fault while evaluating an expression (for example an overflow)."""


class CqlMessageError(CqlEvaluationError):
    """Raised by the CQL ``Message`` operator with severity ``Error``."""

    def __init__(self, message: str, *, code: str | None = None, **where: str | None) -> None:
        super().__init__(message, **where)
        self.code = code
