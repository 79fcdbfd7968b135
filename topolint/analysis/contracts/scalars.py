"""The consumer's keywords on single values: ``type``, ``const``/``enum``, numbers, strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from topolint.analysis.contracts import bounds, wording
from topolint.analysis.contracts.issues import Issue, issue
from topolint.analysis.contracts.keywords import count, is_multiple, num, type_set

if TYPE_CHECKING:
    from topolint.analysis.contracts.views import View


def check_type_and_values(view: View, c: Mapping[str, Any]) -> list[Issue]:
    """``type`` must cover the producer's types; a ``const``/``enum`` consumer always
    reports here (a producer with finitely many values never gets this far)."""
    out: list[Issue] = []
    ctypes = type_set(c.get("type")) if "type" in c else None
    if ctypes is not None:
        accepted = wording.type_names(ctypes)
        if view.types is None:
            reason = (
                "the producer declares no type, so it may send any JSON value;"
                f" the consumer accepts only {accepted}"
            )
            out.append(issue("type", reason))
        elif extra := view.types - ctypes:
            reason = (
                f"the producer may send {wording.type_names(extra)}, the consumer accepts"
                f" only {accepted}"
            )
            out.append(issue("type", reason))
    if "const" in c:
        reason = (
            f"the consumer requires the constant {wording.value(c['const'])}; the producer"
            " does not restrict the value to it"
        )
        out.append(issue("const", reason))
    elif isinstance(c.get("enum"), list):
        reason = (
            f"the consumer accepts only {wording.values(c['enum'])}; the producer does not"
            " restrict the value to these (declare an enum)"
        )
        out.append(issue("enum", reason))
    return out


def check_numbers(view: View, c: Mapping[str, Any], *, integer_only: bool) -> list[Issue]:
    """Bounds and ``multipleOf`` (``integer_only``: the producer sends whole numbers)."""
    out: list[Issue] = []
    for lower, kind in ((True, "minimum"), (False, "maximum")):
        cb = bounds.lower(c) if lower else bounds.upper(c)
        pb = view.lower if lower else view.upper
        if not bounds.bound_ok(pb, cb, lower=lower, integer_only=integer_only):
            reason = (
                f"the consumer requires numbers {wording.bound(cb, lower=lower)};"
                f" the producer guarantees {wording.bound(pb, lower=lower)}"
            )
            out.append(issue(kind, reason))
    m = num(c.get("multipleOf"))
    if m is not None and m > 0:
        ok = (integer_only and is_multiple(1, m)) or any(
            is_multiple(k, m) for k in view.multiple_of
        )
        if not ok:
            reason = (
                f"the consumer requires multiples of {wording.number(m)}; the producer does"
                " not guarantee it"
            )
            out.append(issue("multipleOf", reason))
    return out


def check_strings(view: View, c: Mapping[str, Any]) -> list[Issue]:
    """Lengths; ``pattern`` and ``format`` compared by equality only."""
    out: list[Issue] = []
    cmin = count(c.get("minLength")) or 0
    if cmin > view.min_len:
        reason = (
            f"the consumer requires strings of at least {cmin} characters; the"
            f" producer guarantees {view.min_len}"
        )
        out.append(issue("minLength", reason))
    cmax = count(c.get("maxLength"))
    if cmax is not None and (view.max_len is None or view.max_len > cmax):
        got = "no limit" if view.max_len is None else f"up to {view.max_len}"
        reason = (
            f"the consumer accepts strings of at most {cmax} characters; the producer allows {got}"
        )
        out.append(issue("maxLength", reason))
    cp = c.get("pattern")
    if isinstance(cp, str) and cp not in view.patterns:
        has = (
            "declares no pattern"
            if not view.patterns
            else "declares a different pattern " + repr(view.patterns[0])
        )
        reason = (
            f"the consumer requires pattern {cp!r}; the producer {has}"
            " (patterns are compared only for equality)"
        )
        out.append(issue("pattern", reason))
    cf = c.get("format")
    if isinstance(cf, str) and cf not in view.formats:
        reason = f"the consumer expects format '{cf}', which the producer does not declare"
        out.append(issue("format", reason))
    return out
