"""Units for sizes, durations and rates (SPEC §1).

Sizes: integers (bytes) or ``B``, ``kB``, ``MB``, ``GB`` (powers of 1000), ``KiB``, ``MiB``,
``GiB`` (powers of 1024). Durations: ``500us``, ``1ms``, ``2s``, ``1min`` (or a number of
seconds). Rates: a number per second, ``1000/s``, ``5/ms``. A bad unit raises
:class:`ValueError` with a message saying what is expected; the loader adds the location.

Numbers are ASCII digits only (``\\d`` and :func:`int` also take ``²``, ``٣`` or ``０``),
and every value is bounded before it reaches :func:`float` (a 400-digit integer would raise
:class:`OverflowError` there): sizes up to :data:`MAX_SIZE`, rates up to :data:`MAX_RATE`,
durations up to :data:`MAX_DURATION`, counts up to :data:`MAX_COUNT`.  Messages show a long
value cut short and name the allowed range.
"""

from __future__ import annotations

import math
import re

SIZE_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}
DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
}
_NUM = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# ASCII: in a str pattern \d and \s would also match other scripts' digits and spaces.
_QTY = re.compile(rf"^[ \t]*({_NUM})[ \t]*([A-Za-zµ]*)[ \t]*$")
_RATE = re.compile(rf"^[ \t]*({_NUM})[ \t]*(?:/[ \t]*([A-Za-zµ]+))?[ \t]*$")
_INT = re.compile(r"^[ \t]*([0-9](?:_?[0-9])*)[ \t]*$")
MAX_SIZE = 2**62  # bytes (4 EiB): far beyond any machine, exact as a float
MAX_RATE = 1e12  # messages per second: far beyond any network, far from float overflow
MAX_DURATION = 1e9  # seconds (about 31 years)
MAX_COUNT = 10**15  # messages a source emits: a million a second for 31 years
#: libzmq's integer socket options (ZMQ_SNDHWM, ZMQ_RCVHWM, ZMQ_SNDBUF, ZMQ_RCVBUF,
#: ZMQ_LINGER in ms) and Linux's buffer sysctls are C ``int``\ s.
INT32_MAX = 2**31 - 1
#: Longest value shown in a message.
_SHOW = 40


def show(value: object) -> str:
    """``repr`` of ``value`` cut to about 40 characters (a 400-digit number stays short)."""
    r = repr(value)
    if len(r) <= _SHOW:
        return r
    digits = f" ({len(r)} characters)"
    return r[: _SHOW - 10] + "…" + r[-4:] + digits


def _split(text: str, what: str, units: dict[str, float] | dict[str, int]) -> tuple[float, str]:
    m = _QTY.match(text)
    if not m:
        raise ValueError(
            f"invalid {what} {show(text)}: expected a number with a unit ({_units(units)})"
        )
    return float(m.group(1)), m.group(3)  # float() of a long digit string is inf, no error


def _units(units: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(units)


def _finite(value: float, text: object, what: str) -> float:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"invalid {what} {show(text)}: not a finite number")
    if value < 0:
        raise ValueError(f"invalid {what} {show(text)}: must not be negative")
    return value


def _at_most(value: float, limit: float, text: object, what: str, shown: str) -> float:
    if value > limit:
        raise ValueError(f"invalid {what} {show(text)}: larger than {shown}, the most accepted")
    return value


def _number(value: int | float, what: str, limit: float, shown: str) -> float:
    """A YAML/JSON number as a float, bounded *before* :func:`float` (which raises
    :class:`OverflowError` for an integer beyond 1.8e308)."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid {what} {show(value)}: must not be negative")
        _at_most(value, limit, value, what, shown)
        return float(value)
    return _at_most(_finite(value, value, what), limit, value, what, shown)


_SIZE_LIMIT = f"{MAX_SIZE} bytes (4 EiB)"
_DURATION_LIMIT = "1e9 s (about 31 years)"
_RATE_LIMIT = "1e12 per second"


def parse_size(value: object) -> int:
    """Bytes from ``10kB``, ``512MiB`` or an integer.

    >>> parse_size("10kB"), parse_size("1KiB"), parse_size(42)
    (10000, 1024, 42)
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}: expected bytes or a string like '10kB'")
    if isinstance(value, int):
        _number(value, "size", MAX_SIZE, _SIZE_LIMIT)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _finite(value, value, "size")
        if not value.is_integer():
            raise ValueError(f"invalid size {value!r}: bytes must be a whole number")
        return math.ceil(_number(value, "size", MAX_SIZE, _SIZE_LIMIT))
    if not isinstance(value, str):
        raise ValueError(f"invalid size {show(value)}: expected bytes or a string like '10kB'")
    number, unit = _split(value, "size", SIZE_UNITS)
    if unit == "":
        unit = "B"
    if unit not in SIZE_UNITS:
        raise ValueError(
            f"invalid size unit {show(unit)} in {show(value)}: expected one of {_units(SIZE_UNITS)}"
        )
    if math.isinf(number):
        raise ValueError(
            f"invalid size {show(value)}: larger than {_SIZE_LIMIT}, the most accepted"
        )
    result = _finite(number, value, "size") * SIZE_UNITS[unit]
    return math.ceil(_at_most(result, MAX_SIZE, value, "size", _SIZE_LIMIT))


def parse_duration(value: object) -> float:
    """Seconds from ``500us``, ``1ms``, ``2s``, ``1min`` or a number of seconds.

    >>> parse_duration("3ms")
    0.003
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: expected e.g. '1ms', '2s'")
    if isinstance(value, (int, float)):
        return _number(value, "duration", MAX_DURATION, _DURATION_LIMIT)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {show(value)}: expected e.g. '1ms', '2s'")
    number, unit = _split(value, "duration", DURATION_UNITS)
    if unit == "":
        unit = "s"
    if unit not in DURATION_UNITS:
        raise ValueError(
            f"invalid duration unit {show(unit)} in {show(value)}: "
            f"expected one of {_units(DURATION_UNITS)}"
        )
    if math.isinf(number):
        _at_most(number, MAX_DURATION, value, "duration", _DURATION_LIMIT)
    seconds = _finite(number * DURATION_UNITS[unit], value, "duration")
    return _at_most(seconds, MAX_DURATION, value, "duration", _DURATION_LIMIT)


def parse_rate(value: object) -> float:
    """Messages per second from ``1000/s``, ``5/ms``, ``60/min`` or a number.

    >>> parse_rate("5/ms")
    5000.0
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid rate {value!r}: expected e.g. '1000/s'")
    if isinstance(value, (int, float)):
        return _number(value, "rate", MAX_RATE, _RATE_LIMIT)
    if not isinstance(value, str):
        raise ValueError(f"invalid rate {show(value)}: expected e.g. '1000/s'")
    m = _RATE.match(value)
    if not m:
        raise ValueError(
            f"invalid rate {show(value)}: expected a number per time unit, e.g. '1000/s'"
        )
    number = float(m.group(1))
    if math.isinf(number):
        _at_most(number, MAX_RATE, value, "rate", _RATE_LIMIT)
    number = _finite(number, value, "rate")
    unit = m.group(3) or "s"
    if unit not in DURATION_UNITS:
        raise ValueError(
            f"invalid rate unit {show(unit)} in {show(value)}: "
            f"expected one of {_units(DURATION_UNITS)}"
        )
    return _at_most(number / DURATION_UNITS[unit], MAX_RATE, value, "rate", _RATE_LIMIT)


def parse_int(value: object, what: str, low: int, high: int) -> int:
    """A whole number in ``low..high`` from an integer or a string of ASCII digits (``_``
    between digits allowed); the message names the range.

    >>> parse_int("1_000", "count", 0, MAX_COUNT)
    1000
    """
    expected = f"expected a whole number from {low:,} to {high:,}"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        if not low <= value <= high:  # compared as a float: int(1e300) is not needed
            raise ValueError(f"invalid {what} {show(value)}: {expected}")
        value = int(value)  # 3.0 is what JSON Schema calls an integer
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"invalid {what} {show(value)}: {expected}")
    if isinstance(value, str):
        m = _INT.match(value)
        if not m:
            raise ValueError(f"invalid {what} {show(value)}: {expected} (ASCII digits)")
        digits = m.group(1).replace("_", "")
        if len(digits) > len(str(high)) + 1:  # int() of 5,000 digits raises: never try
            raise ValueError(f"invalid {what} {show(value)}: {expected}")
        n = int(digits)
    else:
        n = value
    if not low <= n <= high:
        raise ValueError(f"invalid {what} {show(value)}: {expected}")
    return n


def parse_count(value: object) -> int:
    """How many messages a source emits: ``0``..:data:`MAX_COUNT`."""
    return parse_int(value, "count", 0, MAX_COUNT)


def format_size(n: float | None) -> str:
    """Human bytes: ``10.0 kB``, ``1.2 MB``."""
    if n is None:
        return "unbounded"
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{int(n)} B"


def format_duration(s: float) -> str:
    """Human duration: ``3 ms``, ``1.5 s``."""
    if s == 0:
        return "0 s"
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= factor:
            v = s / factor
            return f"{v:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"
