"""CQL aggregate functions (CQL 1.5 reference, "Aggregate Functions").

Every aggregate takes a ``source`` list and an optional property ``path`` and ignores null
elements. An empty (or all-null) source gives null, except ``Count`` (0), ``AllTrue`` (true)
and ``AnyTrue`` (false), which also answer for a null source.

Numbers: Integer and Long results stay ``int`` and are null when they overflow; Decimal
results are computed in a wide context and rounded once to 8 places, half away from zero.
Quantities are converted to the unit of the first non-null element before they are combined,
and the result carries that unit.

Uncertainties (CQL 5 'Uncertainty': an Integer known only to lie in [low, high]) among the
elements: Sum, Min, Max, Avg and Median never decrease when an element grows, so their range
runs from the aggregate of the low bounds to the aggregate of the high bounds; Product
multiplies the ranges as ``*`` does. Variance, the standard deviations and GeometricMean
have no such bound at hand: null. Count, Mode, AllTrue and AnyTrue treat them as values. The
definite paths check for an Uncertainty only once they fail (or, for Min and Max, only when
a comparison is undecided).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import TYPE_CHECKING, Any

from ..datatypes import decimal_math as dm
from ..datatypes import ucum, values
from ..datatypes.values import Quantity
from ..errors import ElmError
from ..runtime.registry import Compiler, ElmNode, Evaluator, node, result_type
from .list import hashable_elements, list_distinct
from .structure import property_getter

if TYPE_CHECKING:
    from ..runtime.context import Context

Aggregate = Callable[[list[Any]], Any]
"""Computes an aggregate from the source's non-null elements (never empty)."""


def _wrap_int(elm: ElmNode) -> Callable[[int], int | None]:
    return dm.int64 if result_type(elm) == "Long" else dm.int32


def _decimals(items: Sequence[Any]) -> list[Decimal]:
    return [x if isinstance(x, Decimal) else Decimal(x) for x in items]


def _quantity_values(items: Sequence[Quantity]) -> tuple[list[Decimal], str] | None:
    """The values of the quantities in the first one's unit; None if a unit does not convert."""
    unit = items[0].unit
    out: list[Decimal] = []
    for q in items:
        if q.value is None:
            return None
        v = q.value if q.unit == unit else ucum.convert(q.value, q.unit, unit)
        if v is None:
            return None
        out.append(v)
    return out, unit


def _has_uncertainty(items: Sequence[Any]) -> bool:
    return any(type(x) is values.Uncertainty for x in items)


def _by_bounds(compute: Aggregate, items: list[Any]) -> Any:
    """A non-decreasing aggregate over a list holding Uncertainties: from its value over
    the low bounds to its value over the high bounds."""
    lows: list[Any] = []
    highs: list[Any] = []
    for x in items:
        lo, hi = values.uncertainty_bounds(x)
        if lo is None or hi is None:
            return None
        lows.append(lo)
        highs.append(hi)
    low, high = compute(lows), compute(highs)
    if low is None or high is None:
        return None
    return values.make_uncertainty(low, high)


def _numeric(fn: Callable[[list[Decimal]], Decimal | None], monotone: bool = False) -> Aggregate:
    """Lift a Decimal statistic to Decimal- and Quantity-valued lists (Integers count as
    Decimals: the translator converts them, but ELM from elsewhere may not). ``monotone``:
    the statistic never decreases when an element grows, so Uncertainties are bounded."""

    def aggregate(items: list[Any]) -> Any:
        first = items[0]
        if isinstance(first, Quantity):
            converted = _quantity_values(items)
            if converted is None:
                return None
            nums, unit = converted
            result = _guarded(fn, nums)
            return None if result is None else Quantity(result, unit)
        try:
            nums = _decimals(items)
        except TypeError:
            if not _has_uncertainty(items):
                raise
            return _by_bounds(aggregate, items) if monotone else None
        return _guarded(fn, nums)

    def quantities_or_uncertain(items: list[Any]) -> Any:
        if isinstance(items[0], Quantity) and _has_uncertainty(items):
            return _by_bounds(aggregate, items) if monotone else None
        return aggregate(items)

    return quantities_or_uncertain


def _guarded(fn: Callable[[list[Decimal]], Decimal | None], nums: list[Decimal]) -> Decimal | None:
    try:
        result = fn(nums)
    except (InvalidOperation, DivisionByZero, Overflow):
        return None
    return None if result is None else dm.decimal(result)


def _sum_decimals(nums: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for n in nums:
        total = dm.add(total, n)
    return total


def _mean(nums: list[Decimal]) -> Decimal:
    return dm.divide(_sum_decimals(nums), Decimal(len(nums)))


def _squared_deviations(nums: list[Decimal]) -> Decimal:
    mean = _mean(nums)
    total = Decimal(0)
    for n in nums:
        d = dm.subtract(n, mean)
        total = dm.add(total, dm.multiply(d, d))
    return total


def _variance(nums: list[Decimal]) -> Decimal | None:
    # Sample variance is undefined for a single value (division by n - 1 = 0).
    if len(nums) < 2:
        return None
    return dm.divide(_squared_deviations(nums), Decimal(len(nums) - 1))


def _population_variance(nums: list[Decimal]) -> Decimal:
    return dm.divide(_squared_deviations(nums), Decimal(len(nums)))


def _sqrt(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.sqrt(dm.CTX)


def _median(nums: list[Decimal]) -> Decimal:
    ordered = sorted(nums)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return dm.divide(dm.add(ordered[mid - 1], ordered[mid]), Decimal(2))


def _geometric_mean(nums: list[Decimal]) -> Decimal | None:
    product = Decimal(1)
    for n in nums:
        product = dm.multiply(product, n)
    if product == 0:
        return Decimal(0)
    # A negative product has no real root in CQL's Power (it would need an odd-root rule).
    if product < 0:
        return None
    return dm.exp(dm.divide(dm.ln(product), Decimal(len(nums))))


def _sum(elm: ElmNode) -> Aggregate:
    wrap = _wrap_int(elm)
    decimal_sum = _numeric(_sum_decimals, monotone=True)

    def sum_(items: list[Any]) -> Any:
        if all(type(x) is int for x in items):
            return wrap(sum(items))
        if type(items[0]) is not Quantity and _has_uncertainty(items):
            return _by_bounds(sum_, items)
        return decimal_sum(items)

    return sum_


def _product(elm: ElmNode) -> Aggregate:
    wrap = _wrap_int(elm)

    def product_decimals(nums: list[Decimal]) -> Decimal:
        total = Decimal(1)
        for n in nums:
            total = dm.multiply(total, n)
        return total

    decimal_product = _numeric(product_decimals)

    def product(items: list[Any]) -> Any:
        if _has_uncertainty(items):
            return _uncertain_product(items, product)
        if all(type(x) is int for x in items):
            total = 1
            for x in items:
                total *= x
            # Only the result must fit: {2^20, 2^20, 0} is 0, not an overflow.
            return wrap(total)
        if isinstance(items[0], Quantity):
            return _quantity_product(items)
        return decimal_product(items)

    return product


def _uncertain_product(items: list[Any], product: Aggregate) -> Any:
    """Ranges multiplied pairwise, as ``*`` does: each step spans the products of the
    bounds (every partial product is then exact, since * is monotone in each factor)."""
    acc: Any = items[0]
    for x in items[1:]:
        alo, ahi = values.uncertainty_bounds(acc)
        blo, bhi = values.uncertainty_bounds(x)
        if alo is None or ahi is None or blo is None or bhi is None:
            return None
        acc = values.uncertainty_span([product([a, b]) for a in (alo, ahi) for b in (blo, bhi)])
        if acc is None:
            return None
    if type(acc) is values.Uncertainty:
        return acc
    return product([acc])


def _quantity_product(items: list[Quantity]) -> Quantity | None:
    """Values multiply; units multiply too (mg * mg = mg2), unless all are dimensionless."""
    value = Decimal(1)
    unit = "1"
    for q in items:
        if q.value is None:
            return None
        value = dm.multiply(value, q.value)
        if q.unit != "1":
            unit = q.unit if unit == "1" else ucum.multiply_units(unit, q.unit)
    result = dm.decimal(value)
    return None if result is None else Quantity(result, unit)


def _extreme(sign: int) -> Aggregate:
    """Min (sign -1) or Max (sign 1) by CQL comparison; an uncertain comparison keeps the
    current candidate, unless an Uncertainty is involved: then the range runs from the
    extreme of the low bounds to the extreme of the high bounds."""

    def extreme(items: list[Any]) -> Any:
        best = items[0]
        for x in items[1:]:
            c = values.compare(x, best)
            if c == sign:
                best = x
            elif c is None and (type(x) is values.Uncertainty
                                or type(best) is values.Uncertainty):
                return _by_bounds(extreme, items)
        return best

    return extreme


def _mode(items: list[Any]) -> Any:
    """The most frequent value by equality; on a tie, the one that occurs first."""
    if hashable_elements(items):
        counts: dict[Any, int] = {}
        for x in items:
            counts[x] = counts.get(x, 0) + 1
        return max(counts, key=counts.__getitem__)
    candidates = list_distinct(items)
    tallies = [sum(1 for x in items if values.equal(c, x) is True) for c in candidates]
    return candidates[tallies.index(max(tallies))]


def _all_true(items: list[Any]) -> bool:
    return all(items)


def _any_true(items: list[Any]) -> bool:
    return any(items)


# Node type -> (factory of the aggregate, result for a null or all-null source).
_AGGREGATES: dict[str, tuple[Callable[[ElmNode], Aggregate], Any]] = {
    "Count": (lambda elm: len, 0),
    "Sum": (_sum, None),
    "Product": (_product, None),
    "Min": (lambda elm: _extreme(-1), None),
    "Max": (lambda elm: _extreme(1), None),
    "Avg": (lambda elm: _numeric(_mean, monotone=True), None),
    "Median": (lambda elm: _numeric(_median, monotone=True), None),
    "Mode": (lambda elm: _mode, None),
    "Variance": (lambda elm: _numeric(_variance), None),
    "PopulationVariance": (lambda elm: _numeric(_population_variance), None),
    "StdDev": (lambda elm: _numeric(lambda nums: _sqrt(_variance(nums))), None),
    "PopulationStdDev": (lambda elm: _numeric(lambda nums: _sqrt(_population_variance(nums))),
                         None),
    "GeometricMean": (lambda elm: _numeric(_geometric_mean), None),
    "AllTrue": (lambda elm: _all_true, True),
    "AnyTrue": (lambda elm: _any_true, False),
}


@node(*_AGGREGATES)
def compile_aggregate(elm: ElmNode, compiler: Compiler) -> Evaluator:
    kind = elm.get("type")
    source_elm = elm.get("source")
    if not isinstance(source_elm, dict):
        raise ElmError(f"{kind}: missing 'source'", locator=elm.get("locator"))
    source = compiler.compile(source_elm)
    factory, if_empty = _AGGREGATES[str(kind)]
    compute = factory(elm)
    path = elm.get("path")

    if isinstance(path, str) and path:
        getter = property_getter(path)

        def aggregate_path(ctx: Context) -> Any:
            lst = source(ctx)
            if lst is None:
                return if_empty
            items = [v for v in (getter(x) for x in lst) if v is not None]
            return compute(items) if items else if_empty

        return aggregate_path

    def aggregate(ctx: Context) -> Any:
        lst = source(ctx)
        if lst is None:
            return if_empty
        items = [x for x in lst if x is not None]
        return compute(items) if items else if_empty

    return aggregate


def aggregate_function(name: str, result_type_name: str | None = None) -> Callable[[Any], Any]:
    """The aggregate ``name`` as a plain function of a list (for tests and other modules)."""
    factory, if_empty = _AGGREGATES[name]
    elm: ElmNode = {"type": name}
    if result_type_name:
        elm["resultTypeName"] = "{urn:hl7-org:elm-types:r1}" + result_type_name
    compute = factory(elm)

    def apply(lst: Any) -> Any:
        if lst is None:
            return if_empty
        items = [x for x in lst if x is not None]
        return compute(items) if items else if_empty

    return apply


__all__ = ["aggregate_function", "compile_aggregate"]
