"""Reading CQL type names off ELM nodes, so operators choose their implementation at compile
time instead of inspecting values on every call."""

from __future__ import annotations

from ..runtime.registry import ElmNode, result_type


def _strip(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def signature_types(elm: ElmNode) -> list[str | None]:
    """The operand types of the resolved overload ('Integer', 'List', 'Interval' …), one per
    operand; None where the signature does not name a simple type."""
    out: list[str | None] = []
    for spec in elm.get("signature") or ():
        kind = spec.get("type")
        if kind == "NamedTypeSpecifier" and isinstance(spec.get("name"), str):
            out.append(_strip(spec["name"]))
        elif kind == "ListTypeSpecifier":
            out.append("List")
        elif kind == "IntervalTypeSpecifier":
            out.append("Interval")
        elif kind == "TupleTypeSpecifier":
            out.append("Tuple")
        else:
            out.append(None)
    return out


def node_type(elm: ElmNode | None) -> str | None:
    """The result type of an expression node: a simple type name, or 'List'/'Interval'/
    'Tuple' for those type specifiers; None when the ELM does not say."""
    if elm is None:
        return None
    name = result_type(elm)
    if name is not None:
        return name
    spec = elm.get("resultTypeSpecifier")
    if isinstance(spec, dict):
        kind = spec.get("type")
        if kind == "ListTypeSpecifier":
            return "List"
        if kind == "IntervalTypeSpecifier":
            return "Interval"
        if kind == "TupleTypeSpecifier":
            return "Tuple"
        if kind == "NamedTypeSpecifier" and isinstance(spec.get("name"), str):
            return _strip(spec["name"])
    return None


def first_operand_type(elm: ElmNode) -> str | None:
    """The declared type of the first operand: from the signature, else from the operand."""
    sig = signature_types(elm)
    if sig and sig[0] is not None:
        return sig[0]
    operand = elm.get("operand")
    if isinstance(operand, list):
        operand = operand[0] if operand else None
    return node_type(operand) if isinstance(operand, dict) else None
