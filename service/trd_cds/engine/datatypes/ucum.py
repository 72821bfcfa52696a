"""A small table-driven UCUM unit parser and converter (https://ucum.org/ucum).

It covers the units clinical logic and the CQL conformance suite use: SI base and derived
units with the metric prefixes, customary mass/length/volume units, clock and calendar time,
dimensionless units (``1``, ``%``, ``10*3``, annotations such as ``{tablet}``), compound
expressions (``mg/dL``, ``g/cm3``, ``mg/(kg.d)``, ``/d``), Celsius/Fahrenheit, and the CQL
calendar duration words (``year`` … ``millisecond``).

A parsed unit is a factor to the base units plus a dimension vector; conversions use exact
fractions so that ``1 'a'`` is exactly ``365.25 'd'``.

CQL calendar durations: ``week`` … ``millisecond`` are the UCUM definite durations
(``1 day = 1 'd'``); ``year`` and ``month`` are variable-length calendar units, comparable with
each other (1 year = 12 months) but not with definite durations (``1 year = 1 'a'`` is null).
Equivalence is looser (``loose=True`` below): a year and a month are taken as 365 and 30 days,
and :func:`calendar_counterparts` tells when ``year``/``'a'`` or ``month``/``'mo'`` face each
other, which the spec calls equivalent outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

Dims = tuple[tuple[str, int], ...]
Terms = tuple[tuple[str, int], ...]


class UcumError(ValueError):
    """The text is not a unit this module understands."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A parsed unit: ``value * factor`` (after adding ``offset``) is in base units."""

    factor: Fraction
    dims: Dims
    # The symbols with their exponents as written (prefix included), used to build the
    # units of products and quotients.
    terms: Terms
    # Only the temperature scales have an offset (kelvin = (value + offset) * factor).
    offset: Fraction | None = None


# --- tables -----------------------------------------------------------------------------

_PREFIXES: dict[str, Fraction] = {
    "Y": Fraction(10) ** 24,
    "Z": Fraction(10) ** 21,
    "E": Fraction(10) ** 18,
    "P": Fraction(10) ** 15,
    "T": Fraction(10) ** 12,
    "G": Fraction(10) ** 9,
    "M": Fraction(10) ** 6,
    "k": Fraction(10) ** 3,
    "h": Fraction(10) ** 2,
    "da": Fraction(10),
    "d": Fraction(1, 10),
    "c": Fraction(1, 100),
    "m": Fraction(1, 10**3),
    "u": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "p": Fraction(1, 10**12),
    "f": Fraction(1, 10**15),
    "a": Fraction(1, 10**18),
    "z": Fraction(1, 10**21),
    "y": Fraction(1, 10**24),
}
# Longest first, so that 'da' wins over 'd'.
_PREFIX_ORDER = sorted(_PREFIXES, key=len, reverse=True)

# symbol -> (metric (takes prefixes), factor, definition in other units or None for a base unit)
_ATOMS: dict[str, tuple[bool, str, str | None]] = {
    # base units
    "m": (True, "1", None),
    "s": (True, "1", None),
    "g": (True, "1", None),
    "rad": (True, "1", None),
    "K": (True, "1", None),
    "C": (True, "1", None),
    "cd": (True, "1", None),
    # dimensionless
    "10*": (False, "10", "1"),
    "10^": (False, "10", "1"),
    "%": (False, "1/100", "1"),
    "[ppth]": (False, "1/1000", "1"),
    "[ppm]": (False, "1/1000000", "1"),
    "mol": (True, "602213670000000000000000", "1"),
    "eq": (True, "1", "mol"),
    "osm": (True, "1", "mol"),
    "sr": (True, "1", "rad2"),
    # time
    "min": (False, "60", "s"),
    "h": (False, "60", "min"),
    "d": (False, "24", "h"),
    "wk": (False, "7", "d"),
    "a_j": (False, "365.25", "d"),
    "a_g": (False, "365.2425", "d"),
    "a_t": (False, "365.24219", "d"),
    "a": (False, "1", "a_j"),
    "mo_j": (False, "1/12", "a_j"),
    "mo_g": (False, "1/12", "a_g"),
    "mo_s": (False, "29.53059", "d"),
    "mo": (False, "1", "mo_j"),
    "Hz": (True, "1", "s-1"),
    # volume and area
    "L": (True, "1", "dm3"),
    "l": (True, "1", "dm3"),
    "ar": (True, "100", "m2"),
    # derived SI
    "N": (True, "1", "kg.m/s2"),
    "Pa": (True, "1", "N/m2"),
    "J": (True, "1", "N.m"),
    "W": (True, "1", "J/s"),
    "A": (True, "1", "C/s"),
    "V": (True, "1", "J/C"),
    "Ohm": (True, "1", "V/A"),
    "kat": (True, "1", "mol/s"),
    "U": (True, "1", "umol/min"),
    "bar": (True, "100000", "Pa"),
    "cal": (True, "4.184", "J"),
    "t": (True, "1000", "kg"),
    "m[Hg]": (True, "133.322", "kPa"),
    "m[H2O]": (True, "9.80665", "kPa"),
    "atm": (False, "101325", "Pa"),
    "[iU]": (True, "1", "[IU]"),
    "[IU]": (True, "1", None),
    "[arb'U]": (False, "1", None),
    # international customary length
    "[in_i]": (False, "2.54", "cm"),
    "[ft_i]": (False, "12", "[in_i]"),
    "[yd_i]": (False, "3", "[ft_i]"),
    "[mi_i]": (False, "5280", "[ft_i]"),
    # avoirdupois mass
    "[lb_av]": (False, "453.59237", "g"),
    "[oz_av]": (False, "1/16", "[lb_av]"),
    "[gr]": (False, "64.79891", "mg"),
    "[st_av]": (False, "14", "[lb_av]"),
    # US volumes
    "[gal_us]": (False, "231", "[in_i]3"),
    "[qt_us]": (False, "1/4", "[gal_us]"),
    "[pt_us]": (False, "1/2", "[qt_us]"),
    "[foz_us]": (False, "1/16", "[pt_us]"),
    "[cup_us]": (False, "8", "[foz_us]"),
    "[tbs_us]": (False, "1/2", "[foz_us]"),
    "[tsp_us]": (False, "1/3", "[tbs_us]"),
    "[drp]": (False, "1/20", "mL"),
    # CQL calendar units: a calendar year is exactly 12 calendar months, neither is a
    # definite duration.
    "_cal_month": (False, "1", None),
    "_cal_year": (False, "12", "_cal_month"),
}

# Temperature scales: kelvin = (value + offset) * factor. Only usable alone.
_SPECIAL: dict[str, tuple[Fraction, Fraction]] = {
    "Cel": (Fraction(1), Fraction("273.15")),
    "[degF]": (Fraction(5, 9), Fraction("459.67")),
}

# CQL duration keywords -> UCUM symbol (or the private calendar atoms for year and month).
CALENDAR_WORDS: dict[str, str] = {
    "year": "_cal_year",
    "years": "_cal_year",
    "month": "_cal_month",
    "months": "_cal_month",
    "week": "wk",
    "weeks": "wk",
    "day": "d",
    "days": "d",
    "hour": "h",
    "hours": "h",
    "minute": "min",
    "minutes": "min",
    "second": "s",
    "seconds": "s",
    "millisecond": "ms",
    "milliseconds": "ms",
}
# The spec's approximations for equivalence between calendar and definite durations.
_LOOSE_WORDS = {"_cal_year": "365.d", "_cal_month": "30.d"}
_COUNTERPARTS = {("_cal_year", "a"), ("a", "_cal_year"), ("_cal_month", "mo"), ("mo", "_cal_month")}
# How results of multiplication and division spell the calendar atoms.
_WORD_SPELLING = {"_cal_year": "year", "_cal_month": "month"}

_EXPONENT = re.compile(r"^(.*?)([+-]?\d+)$")
_DIGITS = re.compile(r"^\d+$")


# --- parsing ------------------------------------------------------------------------------


def _combine(a: dict[str, int], b: Dims, power: int) -> None:
    for name, exp in b:
        total = a.get(name, 0) + exp * power
        if total:
            a[name] = total
        else:
            a.pop(name, None)


def _freeze(d: dict[str, int]) -> Dims:
    return tuple(sorted(d.items()))


_ATOM_CACHE: dict[str, tuple[Fraction, Dims]] = {}


def _atom(symbol: str) -> tuple[Fraction, Dims]:
    """Factor and dimensions of an atom, resolved through its definition."""
    cached = _ATOM_CACHE.get(symbol)
    if cached is not None:
        return cached
    _metric, factor_text, definition = _ATOMS[symbol]
    factor = Fraction(factor_text)
    result: tuple[Fraction, Dims]
    if definition is None:
        result = (factor, ((symbol, 1),))
    else:
        base = _parse(definition)
        result = (factor * base.factor, base.dims)
    _ATOM_CACHE[symbol] = result
    return result


def _simple_unit(symbol: str) -> tuple[Fraction, Dims]:
    """A symbol with an optional prefix, e.g. 'mg', 'dL', 'mm[Hg]'."""
    if symbol in _ATOMS:
        return _atom(symbol)
    for prefix in _PREFIX_ORDER:
        if symbol.startswith(prefix):
            rest = symbol[len(prefix) :]
            entry = _ATOMS.get(rest)
            if entry is not None and entry[0]:
                factor, dims = _atom(rest)
                return _PREFIXES[prefix] * factor, dims
    raise UcumError(f"unknown unit symbol {symbol!r}")


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[Fraction, dict[str, int], dict[str, int]]:
        factor = Fraction(1)
        dims: dict[str, int] = {}
        terms: dict[str, int] = {}
        if self.text.startswith("/"):
            self.pos = 1
            sign = -1
        else:
            sign = 1
        while True:
            f, d, t = self._component()
            factor *= f**sign
            _combine(dims, _freeze(d), sign)
            _combine(terms, tuple(t.items()), sign)
            if self.pos >= len(self.text):
                return factor, dims, terms
            op = self.text[self.pos]
            if op == ")":
                return factor, dims, terms
            if op not in "./":
                raise UcumError(f"unexpected {op!r} in unit {self.text!r}")
            self.pos += 1
            sign = 1 if op == "." else -1

    def _component(self) -> tuple[Fraction, dict[str, int], dict[str, int]]:
        text = self.text
        if self.pos >= len(text):
            raise UcumError(f"unit {text!r} ends unexpectedly")
        ch = text[self.pos]
        if ch == "(":
            self.pos += 1
            result = self.parse()
            if self.pos >= len(text) or text[self.pos] != ")":
                raise UcumError(f"unbalanced parenthesis in unit {text!r}")
            self.pos += 1
            self._skip_annotation()
            return result
        if ch == "{":
            self._skip_annotation()
            return Fraction(1), {}, {}
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in "./(){":
            if text[self.pos] == "[":
                end = text.find("]", self.pos)
                if end < 0:
                    raise UcumError(f"unbalanced bracket in unit {text!r}")
                self.pos = end + 1
            else:
                self.pos += 1
        token = text[start : self.pos]
        self._skip_annotation()
        if not token:
            raise UcumError(f"empty component in unit {text!r}")
        if _DIGITS.match(token):
            return Fraction(int(token)), {}, {token: 1}
        exp = 1
        symbol = token
        match = _EXPONENT.match(token)
        if match and match.group(1):
            symbol, exp = match.group(1), int(match.group(2))
        factor, dims = _simple_unit(symbol)
        out: dict[str, int] = {}
        _combine(out, dims, exp)
        return factor**exp, out, {symbol: exp}

    def _skip_annotation(self) -> None:
        text = self.text
        if self.pos < len(text) and text[self.pos] == "{":
            end = text.find("}", self.pos)
            if end < 0:
                raise UcumError(f"unbalanced brace in unit {text!r}")
            self.pos = end + 1


def _parse(text: str) -> Unit:
    if text in ("", "1"):
        return Unit(Fraction(1), (), ())
    special = _SPECIAL.get(text)
    if special is not None:
        return Unit(special[0], (("K", 1),), ((text, 1),), special[1])
    parser = _Parser(text)
    factor, dims, terms = parser.parse()
    if parser.pos != len(text):
        raise UcumError(f"unbalanced parenthesis in unit {text!r}")
    return Unit(factor, _freeze(dims), tuple(terms.items()))


# Units come from patient data too: the caches are bounded so that a stream of distinct
# unit strings cannot grow them without limit.
_CACHE_LIMIT = 4096
_CACHE: dict[tuple[str, bool], Unit | None] = {}


def parse(unit: str, *, loose: bool = False) -> Unit | None:
    """The parsed unit, or None when the text is not a known UCUM unit or calendar word.

    With ``loose`` the calendar words year and month mean 365 and 30 days.
    """
    key = (unit, loose)
    try:
        return _CACHE[key]
    except KeyError:
        pass
    text = CALENDAR_WORDS.get(unit, unit)
    if loose:
        text = _LOOSE_WORDS.get(text, text)
    try:
        result: Unit | None = _parse(text)
    except (UcumError, ZeroDivisionError, ValueError, RecursionError):
        # RecursionError: absurdly nested parentheses in data are just not a unit.
        result = None
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = result
    return result


def calendar_counterparts(unit_a: str, unit_b: str) -> bool:
    """A calendar year against UCUM 'a', or a calendar month against 'mo' (either order)."""
    return (CALENDAR_WORDS.get(unit_a, unit_a), CALENDAR_WORDS.get(unit_b, unit_b)) in _COUNTERPARTS


def is_valid(unit: str) -> bool:
    return parse(unit) is not None


# --- conversion ---------------------------------------------------------------------------


def to_decimal(value: Fraction) -> Decimal:
    """Exact when the fraction terminates in base 10, else 28 significant digits."""
    num, den = value.numerator, value.denominator
    if den == 1:
        return Decimal(num)
    twos = fives = 0
    rest = den
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest == 1:
        k = max(twos, fives)
        return Decimal(num * (10**k // den)).scaleb(-k)
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(num) / Decimal(den)


def to_base(
    value: Decimal | int, unit: str, *, loose: bool = False
) -> tuple[Fraction, Dims] | None:
    """The value expressed in base units (exact), with its dimensions; None if unknown."""
    parsed = parse(unit, loose=loose)
    if parsed is None:
        return None
    v = Fraction(value)
    if parsed.offset is not None:
        v += parsed.offset
    return v * parsed.factor, parsed.dims


def convert_fraction(
    value: Decimal | int, from_unit: str, to_unit: str, *, loose: bool = False
) -> Fraction | None:
    if from_unit == to_unit:
        return Fraction(value)
    src = parse(from_unit, loose=loose)
    dst = parse(to_unit, loose=loose)
    if src is None or dst is None or src.dims != dst.dims:
        return None
    v = Fraction(value)
    if src.offset is not None:
        v += src.offset
    v = v * src.factor / dst.factor
    if dst.offset is not None:
        v -= dst.offset
    return v


def convert(
    value: Decimal | int, from_unit: str, to_unit: str, *, loose: bool = False
) -> Decimal | None:
    """``value`` in ``from_unit`` expressed in ``to_unit``; None when not convertible."""
    if from_unit == to_unit:
        return Decimal(value)
    result = convert_fraction(value, from_unit, to_unit, loose=loose)
    return None if result is None else to_decimal(result)


_SCALE: dict[tuple[str, str], Fraction | None] = {}


def scale_factor(from_unit: str, to_unit: str) -> Fraction | None:
    """The factor that turns a value in ``from_unit`` into ``to_unit`` (cached per pair);
    None when the units are not comparable or one is an offset scale such as Celsius."""
    key = (from_unit, to_unit)
    try:
        return _SCALE[key]
    except KeyError:
        pass
    src = parse(from_unit)
    dst = parse(to_unit)
    factor: Fraction | None = None
    if (
        src is not None
        and dst is not None
        and src.dims == dst.dims
        and src.offset is None
        and dst.offset is None
    ):
        factor = src.factor / dst.factor
    if len(_SCALE) >= _CACHE_LIMIT:
        _SCALE.clear()
    _SCALE[key] = factor
    return factor


def comparable(unit_a: str, unit_b: str, *, loose: bool = False) -> bool:
    """Whether quantities in the two units can be compared (same dimensions)."""
    if unit_a == unit_b:
        return True
    a = parse(unit_a, loose=loose)
    b = parse(unit_b, loose=loose)
    return a is not None and b is not None and a.dims == b.dims


# --- products and quotients ---------------------------------------------------------------


def _render(terms: dict[str, int]) -> str:
    num = [(s, e) for s, e in terms.items() if e > 0]
    den = [(s, -e) for s, e in terms.items() if e < 0]

    def one(symbol: str, exp: int) -> str:
        symbol = _WORD_SPELLING.get(symbol, symbol)
        return symbol if exp == 1 else f"{symbol}{exp}"

    text = ".".join(one(s, e) for s, e in num)
    for s, e in den:
        text += "/" + one(s, e)
    return text or "1"


def _terms(unit: str) -> Terms | None:
    parsed = parse(unit)
    if parsed is None or parsed.offset is not None:
        return None
    return parsed.terms


def _product(unit_a: str, unit_b: str, sign: int) -> str:
    ta = _terms(unit_a)
    tb = _terms(unit_b)
    if ta is None or tb is None:
        # Keep an unknown unit as written rather than failing the arithmetic.
        if unit_b in ("", "1"):
            return unit_a
        joiner = "." if sign > 0 else "/"
        left = "" if unit_a in ("", "1") and sign < 0 else unit_a
        return f"{left}{joiner}({unit_b})" if left else f"/({unit_b})"
    terms: dict[str, int] = dict(ta)
    _combine(terms, tb, sign)
    return _render(terms)


def multiply_units(unit_a: str, unit_b: str) -> str:
    """The unit of a product, e.g. ``cm`` times ``cm`` → ``cm2``."""
    if unit_a in ("", "1"):
        return unit_b or "1"
    if unit_b in ("", "1"):
        return unit_a
    return _product(unit_a, unit_b, 1)


def divide_units(unit_a: str, unit_b: str) -> str:
    """The unit of a quotient, e.g. ``g/cm3`` divided by ``g/cm3`` → ``1``."""
    if unit_b in ("", "1"):
        return unit_a or "1"
    if unit_a == unit_b:
        return "1"
    return _product(unit_a or "1", unit_b, -1)
