"""Units for sizes, durations and rates (SPEC §1).

Sizes: integers (bytes) or ``B``, ``kB``, ``MB``, ``GB`` (powers of 1000), ``KiB``, ``MiB``,
``GiB`` (powers of 1024). Durations: ``500us``, ``1ms``, ``2s``, ``1min`` (or a number of
seconds). Rates: a number per second, ``1000/s``, ``5/ms``. A bad unit raises
:class:`ValueError` with a message saying what is expected; the loader adds the location.
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
_NUM = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QTY = re.compile(rf"^\s*({_NUM})\s*([A-Za-zµ]*)\s*$")
_RATE = re.compile(rf"^\s*({_NUM})\s*(?:/\s*([A-Za-zµ]+))?\s*$")
MAX_SIZE = 2**62
MAX_RATE = 1e12  # messages per second: far beyond any network, far from float overflow
MAX_DURATION = 1e9  # seconds (about 31 years)


def _split(text: str, what: str, units: dict[str, float] | dict[str, int]) -> tuple[float, str]:
    m = _QTY.match(text)
    if not m:
        raise ValueError(
            f"invalid {what} {text!r}: expected a number with a unit ({_units(units)})"
        )
    return float(m.group(1)), m.group(3)


def _units(units: dict[str, float] | dict[str, int]) -> str:
    return ", ".join(units)


def _finite(value: float, text: object, what: str) -> float:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"invalid {what} {text!r}: not a finite number")
    if value < 0:
        raise ValueError(f"invalid {what} {text!r}: must not be negative")
    return value


def _at_most(value: float, limit: float, text: object, what: str) -> float:
    if value > limit:
        raise ValueError(f"invalid {what} {text!r}: larger than {limit:g}")
    return value


def parse_size(value: object) -> int:
    """Bytes from ``10kB``, ``512MiB`` or an integer.

    >>> parse_size("10kB"), parse_size("1KiB"), parse_size(42)
    (10000, 1024, 42)
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}: expected bytes or a string like '10kB'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value!r}: must not be negative")
        if value > MAX_SIZE:
            raise ValueError(f"invalid size {value!r}: too large")
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"invalid size {value!r}: bytes must be a whole number")
        return parse_size(int(_finite(value, value, "size")))
    if not isinstance(value, str):
        raise ValueError(f"invalid size {value!r}: expected bytes or a string like '10kB'")
    number, unit = _split(value, "size", SIZE_UNITS)
    if unit == "":
        unit = "B"
    if unit not in SIZE_UNITS:
        raise ValueError(
            f"invalid size unit {unit!r} in {value!r}: expected one of {_units(SIZE_UNITS)}"
        )
    result = _finite(number, value, "size") * SIZE_UNITS[unit]
    if result > MAX_SIZE:
        raise ValueError(f"invalid size {value!r}: too large")
    return math.ceil(result)


def parse_duration(value: object) -> float:
    """Seconds from ``500us``, ``1ms``, ``2s``, ``1min`` or a number of seconds.

    >>> parse_duration("3ms")
    0.003
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: expected e.g. '1ms', '2s'")
    if isinstance(value, (int, float)):
        return _at_most(_finite(float(value), value, "duration"), MAX_DURATION, value, "duration")
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: expected e.g. '1ms', '2s'")
    number, unit = _split(value, "duration", DURATION_UNITS)
    if unit == "":
        unit = "s"
    if unit not in DURATION_UNITS:
        raise ValueError(
            f"invalid duration unit {unit!r} in {value!r}: expected one of {_units(DURATION_UNITS)}"
        )
    return _at_most(
        _finite(number * DURATION_UNITS[unit], value, "duration"), MAX_DURATION, value, "duration"
    )


def parse_rate(value: object) -> float:
    """Messages per second from ``1000/s``, ``5/ms``, ``60/min`` or a number.

    >>> parse_rate("5/ms")
    5000.0
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid rate {value!r}: expected e.g. '1000/s'")
    if isinstance(value, (int, float)):
        return _at_most(_finite(float(value), value, "rate"), MAX_RATE, value, "rate")
    if not isinstance(value, str):
        raise ValueError(f"invalid rate {value!r}: expected e.g. '1000/s'")
    m = _RATE.match(value)
    if not m:
        raise ValueError(f"invalid rate {value!r}: expected a number per time unit, e.g. '1000/s'")
    number = _finite(float(m.group(1)), value, "rate")
    unit = m.group(3) or "s"
    if unit not in DURATION_UNITS:
        raise ValueError(
            f"invalid rate unit {unit!r} in {value!r}: expected one of {_units(DURATION_UNITS)}"
        )
    return _at_most(number / DURATION_UNITS[unit], MAX_RATE, value, "rate")


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
