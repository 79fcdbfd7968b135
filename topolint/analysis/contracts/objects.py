"""The consumer's object keywords: required fields, field schemas, closed objects,
property counts, dependencies and property names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from topolint.analysis.contracts.issues import (
    MAX_DEPTH,
    Issue,
    escape,
    field_pointer,
    issue,
    prefixed,
)
from topolint.analysis.contracts.keywords import count, mapping, matches, strs, trivial
from topolint.analysis.contracts.refs import NOT_FOUND

if TYPE_CHECKING:
    from topolint.analysis.contracts.subsumption import Checker
    from topolint.analysis.contracts.views import View


def check(chk: Checker, view: View, c: Mapping[str, Any], depth: int) -> list[Issue]:
    """Issues of producer ``view`` against the object keywords of consumer ``c``."""
    out = _required(view, c)
    out += _properties(chk, view, c, depth)
    declared = declared_names(view)
    out += _pattern_properties(chk, view, c, declared, depth)
    out += _additional(chk, view, c, declared, depth)
    out += _counts(view, c)
    out += _dependencies(chk, view, c)
    out += _property_names(chk, view, c, declared)
    return out


def field_schemas(chk: Checker, view: View, name: str) -> tuple[list[Any], bool, bool]:
    """What the producer says about its field ``name``.

    Returns
    -------
    schemas : list
        The producer schemas that apply to the field (``properties``, matching
        ``patternProperties``, else ``additionalProperties``).
    declared : bool
        Some producer node declares the field by name or pattern.
    forbidden : bool
        The producer never sends the field.
    """
    got: list[Any] = []
    declared = False
    for n in view.nodes:
        hit = False
        props = mapping(n.get("properties"))
        if name in props:
            got.append(props[name])
            hit = True
        for pat, ps in mapping(n.get("patternProperties")).items():
            if matches(pat, name):
                got.append(ps)
                hit = True
        if not hit and "additionalProperties" in n:
            got.append(n["additionalProperties"])
        declared = declared or hit
    forbidden = any(chk.norm.never(s) for s in got)
    return got, declared, forbidden


def declared_names(view: View) -> list[str]:
    """The field names the producer declares in ``properties``, in order."""
    names: dict[str, None] = {}
    for n in view.nodes:
        for k in mapping(n.get("properties")):
            names.setdefault(k, None)
    return list(names)


def _required(view: View, c: Mapping[str, Any]) -> list[Issue]:
    return [
        (
            field_pointer(r),
            "missing-required",
            f"the consumer requires field '{r}' which the producer does not guarantee",
        )
        for r in strs(c.get("required"))
        if r not in view.required
    ]


def _properties(chk: Checker, view: View, c: Mapping[str, Any], depth: int) -> list[Issue]:
    out: list[Issue] = []
    for name, cs in mapping(c.get("properties")).items():
        if trivial(cs):
            continue
        plist, _, forbidden = field_schemas(chk, view, name)
        if forbidden:
            continue
        if name not in view.required and all(trivial(s) for s in plist):
            continue  # an optional field the producer says nothing about
        out += prefixed(field_pointer(name), chk.check_list(plist, cs, depth + 1))
    return out


def _pattern_properties(
    chk: Checker, view: View, c: Mapping[str, Any], declared: list[str], depth: int
) -> list[Issue]:
    """Declared fields matching a consumer pattern, and the producer's same patterns."""
    out: list[Issue] = []
    for pat, cs in mapping(c.get("patternProperties")).items():
        if trivial(cs):
            continue
        for name in declared:
            if not matches(pat, name):
                continue
            plist, _, forbidden = field_schemas(chk, view, name)
            if not forbidden:
                out += prefixed(field_pointer(name), chk.check_list(plist, cs, depth + 1))
        same_pat = [
            mapping(n.get("patternProperties"))[pat]
            for n in view.nodes
            if pat in mapping(n.get("patternProperties"))
        ]
        if same_pat:
            out += prefixed(
                "/patternProperties/" + escape(pat), chk.check_list(same_pat, cs, depth + 1)
            )
    return out


def _additional(
    chk: Checker, view: View, c: Mapping[str, Any], declared: list[str], depth: int
) -> list[Issue]:
    """``additionalProperties``, else ``unevaluatedProperties`` (approximated)."""
    if "additionalProperties" in c:
        known, patterns = (
            set(mapping(c.get("properties"))),
            set(mapping(c.get("patternProperties"))),
        )
        return _closed(chk, view, c["additionalProperties"], known, patterns,
                       "additionalProperties", declared, depth)  # fmt: skip
    if "unevaluatedProperties" in c and not chk.producer_has(
        view, "unevaluatedProperties", c["unevaluatedProperties"]
    ):
        names, pats, everything = evaluated(chk, c, 0)
        if not everything:
            return _closed(chk, view, c["unevaluatedProperties"], names, pats,
                           "unevaluatedProperties", declared, depth)  # fmt: skip
    return []


def _closed(
    chk: Checker,
    view: View,
    ca: Any,
    known: set[str],
    patterns: set[str],
    kw: str,
    declared: list[str],
    depth: int,
) -> list[Issue]:
    """Fields beyond the consumer's ``known`` names and ``patterns`` against ``ca``.

    Parameters
    ----------
    ca : schema
        What the consumer accepts for other fields (``kw``'s value).
    kw : str
        ``additionalProperties`` or ``unevaluatedProperties``, for pointers and reasons.
    declared : list of str
        The producer's declared field names.
    """
    if trivial(ca):
        return []
    out: list[Issue] = []
    for name in declared:
        if name in known or any(matches(p, name) for p in patterns):
            continue
        plist, _, forbidden = field_schemas(chk, view, name)
        if forbidden:
            continue
        if ca is False:
            reason = (
                f"the producer may send field '{name}', which the consumer does not"
                f" accept ({kw}: false)"
            )
            out.append((field_pointer(name), "additional-properties", reason))
        else:
            out += prefixed(field_pointer(name), chk.check_list(plist, ca, depth + 1))
    is_open, extra = _undeclared_fields(chk, view, patterns)
    if is_open:
        if ca is False:
            names = ", ".join(sorted(known)[:10]) or "none"
            reason = (
                "the producer allows fields beyond those it declares; the consumer"
                f" accepts only its own ({names}; {kw}: false)"
            )
            out.append(("/" + kw, "additional-properties", reason))
        else:
            out += prefixed("/" + kw, chk.check_list(extra, ca, depth + 1))
    return out


def _undeclared_fields(chk: Checker, view: View, patterns: set[str]) -> tuple[bool, list[Any]]:
    """May the producer send fields it does not declare, and the schemas they satisfy."""
    extra: list[Any] = []
    for n in view.nodes:
        ap = n.get("additionalProperties", True)
        ppats = set(mapping(n.get("patternProperties")))
        if chk.norm.never(ap) and ppats <= patterns:
            return False, extra
        if not ppats and ap is not True:
            extra.append(ap)
    if view.max_props is not None and view.max_props <= len(view.required):
        return False, extra
    return True, extra


def evaluated(chk: Checker, c: Any, depth: int) -> tuple[set[str], set[str], bool]:
    """Field names and patterns a consumer schema evaluates at this instance level.

    Returns
    -------
    names, patterns : set of str
    everything : bool
        Some part has ``additionalProperties``, so every field is evaluated.
    """
    if not isinstance(c, Mapping) or depth > MAX_DEPTH:
        return set(), set(), False
    got = chk.evaluated.get(id(c))
    if got is not None:
        return got
    names: set[str] = set()
    pats: set[str] = set()
    chk.evaluated[id(c)] = (names, pats, False)  # cycle guard
    names.update(mapping(c.get("properties")))
    pats.update(mapping(c.get("patternProperties")))
    everything = "additionalProperties" in c
    for s in _in_place_parts(chk, c):
        n2, p2, e2 = evaluated(chk, s, depth + 1)
        names |= n2
        pats |= p2
        everything = everything or e2
    result = (names, pats, everything)
    chk.evaluated[id(c)] = result
    return result


def _in_place_parts(chk: Checker, c: Mapping[str, Any]) -> list[Any]:
    """The subschemas of ``c`` that apply to the same instance (in-place applicators)."""
    subs: list[Any] = []
    for kw in ("allOf", "anyOf", "oneOf"):
        if isinstance(c.get(kw), list):
            subs.extend(c[kw])
    subs.extend(c[k] for k in ("if", "then", "else") if k in c)
    subs.extend(mapping(c.get("dependentSchemas")).values())
    if isinstance(c.get("$ref"), str):
        t = chk.resolver.found(c["$ref"], chk.c_root)
        if t is not None:
            subs.append(t)
    return subs


def _counts(view: View, c: Mapping[str, Any]) -> list[Issue]:
    """``minProperties`` and ``maxProperties``."""
    out: list[Issue] = []
    cmin = count(c.get("minProperties")) or 0
    pmin = max(view.min_props, len(view.required))
    if cmin > pmin:
        reason = f"the consumer requires at least {cmin} fields; the producer guarantees {pmin}"
        out.append(issue("minProperties", reason))
    cmax = count(c.get("maxProperties"))
    if cmax is not None and (view.max_props is None or view.max_props > cmax):
        reason = f"the consumer accepts at most {cmax} fields; the producer may send more"
        out.append(issue("maxProperties", reason))
    return out


def _dependencies(chk: Checker, view: View, c: Mapping[str, Any]) -> list[Issue]:
    """``dependentRequired``, ``dependencies`` and ``dependentSchemas`` (not checked)."""
    out: list[Issue] = []
    deps: list[tuple[str, str, Any]] = [
        (kw, trigger, need)
        for kw in ("dependentRequired", "dependencies", "dependentSchemas")
        for trigger, need in mapping(c.get(kw)).items()
    ]
    for kw, trigger, need in deps:
        if field_schemas(chk, view, trigger)[2]:
            continue  # the producer never sends the trigger field
        if any(chk.same(mapping(n.get(kw)).get(trigger, NOT_FOUND), need) for n in view.nodes):
            continue
        if isinstance(need, list):
            out += [
                (
                    field_pointer(r),
                    "missing-required",
                    f"the consumer requires field '{r}' whenever '{trigger}' is"
                    " present; the producer does not guarantee it",
                )
                for r in strs(need)
                if r not in view.required
            ]
        elif not trivial(need):
            reason = f"the consumer's {kw} for '{trigger}' is not checked"
            out.append((field_pointer(trigger), "unchecked", reason))
    return out


def _property_names(
    chk: Checker, view: View, c: Mapping[str, Any], declared: list[str]
) -> list[Issue]:
    """Each declared field name the producer may send, against ``propertyNames``."""
    pn = c.get("propertyNames")
    if pn is None or trivial(pn) or chk.producer_has(view, "propertyNames", pn):
        return []
    out: list[Issue] = []
    for name in declared:
        if field_schemas(chk, view, name)[2]:
            continue
        fails = chk.values.validate(name, pn, chk.c_root, 0)
        if fails:
            reason = (
                f"the producer's field name '{name}' is not accepted by the"
                f" consumer's propertyNames: {fails[0][2]}"
            )
            out.append((field_pointer(name), "property-names", reason))
    return out
