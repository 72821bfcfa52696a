"""The CQL ``Message`` operator (CQL 1.5 Appendix B, 'Errors and Messaging').

``Message(source, condition, code, severity, message)`` returns ``source``. When the
condition is true it also reports: severity ``Error`` stops the evaluation with a
:class:`CqlMessageError`; ``Trace``, ``Message``, ``Warning`` (or any other severity) are
recorded in ``ctx.messages`` as ``(severity, code, message)``.
"""

from __future__ import annotations

from typing import Any

from ..errors import CqlMessageError
from ..runtime.context import Context
from ..runtime.registry import Compiler, ElmNode, Evaluator, node


@node("Message")
def _message(elm: ElmNode, compiler: Compiler) -> Evaluator:
    source = compiler.compile_optional(elm.get("source"))
    condition = compiler.compile_optional(elm.get("condition"))
    code = compiler.compile_optional(elm.get("code"))
    severity = compiler.compile_optional(elm.get("severity"))
    text = compiler.compile_optional(elm.get("message"))
    locator = elm.get("locator")

    def evaluate(ctx: Context) -> Any:
        value = source(ctx)
        if condition(ctx) is not True:
            return value
        level = severity(ctx) or "Message"
        code_text = code(ctx)
        message = text(ctx) or ""
        if str(level).lower() == "error":
            shown = f"{code_text}: {message}" if code_text else message
            raise CqlMessageError(shown, code=code_text, locator=locator)
        ctx.messages.append((str(level), "" if code_text is None else str(code_text), message))
        return value

    return evaluate
