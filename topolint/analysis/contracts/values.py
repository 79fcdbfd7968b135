"""Does a value satisfy a schema, and if not, why (worded as a producer/consumer issue)?

Used where the producer sends one of a finite set of values (``enum``, ``const``, only
``boolean``/``null``): each value is validated against the consumer schema, and the first
reason it is rejected becomes the issue.  References that cannot be followed give issues
of kind ``ref``; callers that need a yes/no treat those as "not known to fail".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from topolint.analysis.contracts import bounds, keywords, wording
from topolint.analysis.contracts.identity import Identity
from topolint.analysis.contracts.issues import (
    MAX_RESULTS,
    MAX_VALUE_DEPTH,
    Issue,
    field_pointer,
    issue,
    only_type_mismatches,
    prefixed,
)
from topolint.analysis.contracts.keywords import count, strs, value_type
from topolint.analysis.contracts.refs import Resolver

if TYPE_CHECKING:
    from topolint.analysis.contracts.views import View

_Key = tuple[int, int, int]
#: Kinds that say a check could not be made, not that the value fails.
_UNSURE = ("ref", "unchecked")


def definite(issues: list[Issue]) -> list[Issue]:
    """``issues`` without those that only say something could not be checked."""
    return [f for f in issues if f[1] not in _UNSURE]


def finite_values(view: View, values: Values, root: Any) -> list[Any] | None:
    """The values a producer view admits, when it admits finitely many (else ``None``).

    Parameters
    ----------
    view : View
        The producer's merged constraints: an ``enum``/``const``, or only the types
        ``boolean`` and ``null``, make it finite.
    values : Values
        Validates each candidate against every producer node.
    root : schema
        The producer's root, for its local references.
    """
    if view.enum is not None:
        candidates = list(view.enum)
    elif view.types is not None and view.types <= {"null", "boolean"}:
        candidates = ([None] if "null" in view.types else []) + (
            [True, False] if "boolean" in view.types else []
        )
    else:
        return None
    if view.types is not None:
        candidates = [v for v in candidates if value_type(v) in view.types]
    kept = []
    for v in candidates:
        fails = [f for n in view.nodes for f in definite(values.validate(v, n, root, 0))]
        if not fails:
            kept.append(v)
    return kept


def first_reasons(candidates: list[Any], c: Any, values: Values, root: Any) -> list[Issue]:
    """For each of ``candidates`` that consumer ``c`` rejects, the first reason why."""
    out: list[Issue] = []
    for v in candidates:
        fails = values.validate(v, c, root, 0)
        if fails:
            out.append(fails[0])
        if len(out) >= MAX_RESULTS:
            break
    return out


class Values:
    """A memoising validator of values against schemas, with worded reasons.

    Parameters
    ----------
    identity : Identity
        Canonical ids, for ``const``, ``enum`` and ``uniqueItems``.
    resolver : Resolver
        Follows local references against the root each call names.
    """

    def __init__(self, identity: Identity, resolver: Resolver) -> None:
        self.identity = identity
        self.resolver = resolver
        self._memo: dict[_Key, list[Issue]] = {}
        self._busy: set[_Key] = set()
        self._enum_memo: dict[int, set[int]] = {}

    def validate(self, v: Any, s: Any, root: Any, depth: int = 0) -> list[Issue]:
        """Why value ``v`` is invalid under ``s`` (empty if valid or undecidable).

        Parameters
        ----------
        v : JSON value
        s : schema
            Validated against; its local references resolve in ``root``.
        root : schema
        depth : int
            Nesting so far; beyond ``MAX_VALUE_DEPTH`` nothing more is checked.

        Returns
        -------
        list of issues
            At most 8; pointers are relative to ``s``.
        """
        if s is False:
            reason = f"the producer may send {wording.value(v)}; the consumer accepts none"
            return [issue("forbidden", reason)]
        if not isinstance(s, Mapping):
            return []
        if depth > MAX_VALUE_DEPTH:
            return []
        key = (id(v), id(s), id(root))
        got = self._memo.get(key)
        if got is not None:
            return got
        if key in self._busy:
            return []
        self._busy.add(key)
        try:
            res = self._validate(v, s, root, depth)[:8]
        finally:
            self._busy.discard(key)
        self._memo[key] = res
        self.identity.pin(v)
        return res

    def valid(self, v: Any, s: Any, root: Any, depth: int = 0) -> bool:
        """Is ``v`` valid under ``s``?  (A reference that cannot be followed fails.)"""
        return not self.validate(v, s, root, depth)

    def _validate(self, v: Any, s: Mapping[str, Any], root: Any, depth: int) -> list[Issue]:
        d = depth + 1
        out = self._applicators(v, s, root, d)
        vt = value_type(v)
        out += self._type_and_values(v, vt, s)
        if vt in ("integer", "fraction"):
            out += _number(v, s)
        elif vt == "string":
            out += _string(v, s)
        elif vt == "array":
            out += self._array(v, s, root, d)
        elif vt == "object":
            out += self._object(v, s, root, d)
        return out

    def _applicators(self, v: Any, s: Mapping[str, Any], root: Any, d: int) -> list[Issue]:
        """``$ref``, ``allOf``, ``anyOf``, ``oneOf``, ``not``, ``if``/``then``/``else``."""
        out: list[Issue] = []
        ref = s.get("$ref")
        if isinstance(ref, str):
            t = self.resolver.found(ref, root)
            if t is None:
                out.append(issue("ref", f"$ref '{ref}' cannot be followed; not checked"))
            else:
                out += self.validate(v, t, root, d)
        if isinstance(s.get("allOf"), list):
            for b in s["allOf"]:
                out += self.validate(v, b, root, d)
        for kw in ("anyOf", "oneOf"):
            branches = s.get(kw)
            if isinstance(branches, list) and branches:
                out += self._alternatives(v, branches, kw, root, d)
        if "not" in s and self.valid(v, s["not"], root, d):
            out.append(
                issue("not", f"the consumer's 'not' schema rejects the value {wording.value(v)}")
            )
        if "if" in s:
            branch = "then" if self.valid(v, s["if"], root, d) else "else"
            if branch in s:
                out += self.validate(v, s[branch], root, d)
        return out

    def _alternatives(self, v: Any, branches: list[Any], kw: str, root: Any, d: int) -> list[Issue]:
        """``anyOf``/``oneOf``: the closest branch's issues when none accepts ``v``."""
        results = [self.validate(v, b, root, d) for b in branches]
        n_ok = sum(1 for r in results if not r)
        shown = wording.value(v)
        if n_ok == 0:
            closest: list[Issue] = min(results, key=len)
            if only_type_mismatches(closest):
                closest = [
                    issue("type", f"the producer may send {shown}, which none of the"
                          f" consumer's {kw} alternatives accepts")
                ]  # fmt: skip
            return closest
        if kw == "oneOf" and n_ok > 1:
            reason = (
                f"the producer value {shown} matches several of the consumer's oneOf alternatives"
            )
            return [issue("one-of", reason)]
        return []

    def _type_and_values(self, v: Any, vt: str, s: Mapping[str, Any]) -> list[Issue]:
        """``type``, ``const`` and ``enum``."""
        out: list[Issue] = []
        ct = keywords.type_set(s.get("type")) if "type" in s else None
        if ct is not None and vt not in ct:
            out.append(
                issue(
                    "type",
                    f"the producer may send {wording.value(v)}{wording.paren_type(v, vt)};"
                    f" the consumer accepts only {wording.type_names(ct)}",
                )
            )
        canon = self.identity.canon
        if "const" in s and canon(v) != canon(s["const"]):
            out.append(
                issue(
                    "const",
                    f"the producer value {wording.value(v)} is not the consumer's constant"
                    f" {wording.value(s['const'])}",
                )
            )
        enum = s.get("enum")
        if isinstance(enum, list) and canon(v) not in self._enum_keys(enum):
            out.append(
                issue(
                    "enum",
                    f"producer enum value {wording.value(v)} is not accepted by the consumer"
                    f" (consumer enum: {wording.values(enum)})",
                )
            )
        return out

    def _enum_keys(self, enum: list[Any]) -> set[int]:
        got = self._enum_memo.get(id(enum))
        if got is None:
            got = {self.identity.canon(e) for e in enum}
            self._enum_memo[id(enum)] = got
        return got

    def _array(self, v: Sequence[Any], s: Mapping[str, Any], root: Any, d: int) -> list[Issue]:
        out: list[Issue] = []
        pos, rest = keywords.item_parts(s)
        pos_kw, rest_kw = keywords.item_keywords(s)
        for i, item in enumerate(v):
            if pos is not None and i < len(pos):
                out += prefixed(f"/{pos_kw}/{i}", self.validate(item, pos[i], root, d))
            else:
                out += prefixed(f"/{rest_kw}", self.validate(item, rest, root, d))
        n = len(v)
        if (lo := _below(n, s, "minItems")) is not None:
            out.append(issue("minItems", f"the producer may send {n} items; minimum {lo}"))
        if (hi := _above(n, s, "maxItems")) is not None:
            out.append(issue("maxItems", f"the producer may send {n} items; maximum {hi}"))
        canon = self.identity.canon
        if s.get("uniqueItems") is True and len({canon(x) for x in v}) < len(v):
            reason = f"the producer may send repeated items in {wording.value(v)}"
            out.append(issue("uniqueItems", reason))
        if "contains" in s:
            hits = sum(1 for x in v if self.valid(x, s["contains"], root, d))
            lo_c, hi_c = count(s.get("minContains")), count(s.get("maxContains"))
            if hits < (1 if lo_c is None else lo_c) or (hi_c is not None and hits > hi_c):
                reason = (
                    f"the producer value {wording.value(v)} does not meet the consumer's 'contains'"
                )
                out.append(issue("contains", reason))
        return out

    def _object(self, v: Mapping[str, Any], s: Mapping[str, Any], root: Any, d: int) -> list[Issue]:
        out: list[Issue] = [
            (
                field_pointer(r),
                "missing-required",
                f"the consumer requires field '{r}', missing from the producer value"
                f" {wording.value(v)}",
            )
            for r in strs(s.get("required"))
            if r not in v
        ]
        out += self._fields(v, s, root, d)
        if _below(len(v), s, "minProperties") is not None:
            reason = f"the producer value {wording.value(v)} has too few fields"
            out.append(issue("minProperties", reason))
        if _above(len(v), s, "maxProperties") is not None:
            reason = f"the producer value {wording.value(v)} has too many fields"
            out.append(issue("maxProperties", reason))
        pn = s.get("propertyNames")
        if pn is not None:
            out += [
                (
                    field_pointer(k),
                    "property-names",
                    f"field name '{k}' is not accepted by the consumer's propertyNames",
                )
                for k in v
                if isinstance(k, str) and not self.valid(k, pn, root, d)
            ]
        out += self._dependencies(v, s, root, d)
        return out

    def _fields(self, v: Mapping[str, Any], s: Mapping[str, Any], root: Any, d: int) -> list[Issue]:
        """Each field of ``v`` under ``properties``, ``patternProperties`` or the rest."""
        out: list[Issue] = []
        props = keywords.mapping(s.get("properties"))
        pats = keywords.mapping(s.get("patternProperties"))
        ap = s.get("additionalProperties", True)
        for k, item in v.items():
            if not isinstance(k, str):
                continue
            ptr = field_pointer(k)
            hit = False
            if k in props:
                out += prefixed(ptr, self.validate(item, props[k], root, d))
                hit = True
            for pat, ps in pats.items():
                if keywords.matches(pat, k):
                    out += prefixed(ptr, self.validate(item, ps, root, d))
                    hit = True
            if hit:
                continue
            if ap is False:
                reason = (
                    f"the producer may send field '{k}', which the consumer does not accept"
                    " (additionalProperties: false)"
                )
                out.append((ptr, "additional-properties", reason))
            else:
                out += prefixed(ptr, self.validate(item, ap, root, d))
        return out

    def _dependencies(
        self, v: Mapping[str, Any], s: Mapping[str, Any], root: Any, d: int
    ) -> list[Issue]:
        """``dependentRequired``, ``dependencies`` and ``dependentSchemas``."""
        out: list[Issue] = []
        for kw in ("dependentRequired", "dependencies", "dependentSchemas"):
            for trigger, need in keywords.mapping(s.get(kw)).items():
                if trigger not in v:
                    continue
                if not isinstance(need, list):
                    out += self.validate(v, need, root, d)
                    continue
                out += [
                    (
                        field_pointer(r),
                        "missing-required",
                        f"the consumer requires field '{r}' when '{trigger}' is present",
                    )
                    for r in strs(need)
                    if r not in v
                ]
        return out


def _number(v: int | float, s: Mapping[str, Any]) -> list[Issue]:
    """``minimum``, ``maximum`` (and their exclusive forms) and ``multipleOf``."""
    out: list[Issue] = []
    shown = wording.value(v)
    lo, hi = bounds.lower(s), bounds.upper(s)
    if lo is not None and (v < lo[0] or (lo[1] and v == lo[0])):
        reason = (
            f"the producer may send {shown}; the consumer requires {wording.bound(lo, lower=True)}"
        )
        out.append(issue("minimum", reason))
    if hi is not None and (v > hi[0] or (hi[1] and v == hi[0])):
        reason = (
            f"the producer may send {shown}; the consumer requires {wording.bound(hi, lower=False)}"
        )
        out.append(issue("maximum", reason))
    m = keywords.num(s.get("multipleOf"))
    if m is not None and m > 0 and not keywords.is_multiple(v, m):
        reason = f"the producer may send {shown}, not a multiple of {wording.number(m)}"
        out.append(issue("multipleOf", reason))
    return out


def _string(v: str, s: Mapping[str, Any]) -> list[Issue]:
    """``minLength``, ``maxLength`` and ``pattern`` (``format`` is not validated)."""
    out: list[Issue] = []
    shown = wording.value(v)
    lo, hi = count(s.get("minLength")), count(s.get("maxLength"))
    if lo is not None and len(v) < lo:
        out.append(issue("minLength", f"the producer may send {shown}, shorter than {lo}"))
    if hi is not None and len(v) > hi:
        out.append(issue("maxLength", f"the producer may send {shown}, longer than {hi}"))
    pat = s.get("pattern")
    if isinstance(pat, str):
        rx = keywords.regex(pat)
        if rx is not None and not rx.search(v):
            reason = f"the producer may send {shown}, which does not match the consumer's pattern {pat!r}"
            out.append(issue("pattern", reason))
    return out


def _below(n: int, s: Mapping[str, Any], kw: str) -> int | None:
    """The lower limit ``kw`` of ``s`` if ``n`` is under it."""
    lo = count(s.get(kw))
    return lo if lo is not None and n < lo else None


def _above(n: int, s: Mapping[str, Any], kw: str) -> int | None:
    """The upper limit ``kw`` of ``s`` if ``n`` is over it."""
    hi = count(s.get(kw))
    return hi if hi is not None and n > hi else None
