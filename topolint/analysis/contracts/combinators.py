"""The consumer's combinators: ``$ref``, ``allOf``, ``anyOf``/``oneOf``, ``not``, ``if``.

Also :func:`disjoint`, the "no producer value can match this" test that decides the
consumer's ``not`` and ``if``/``then``/``else`` on discriminator fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from topolint.analysis.contracts import objects
from topolint.analysis.contracts.issues import MAX_DEPTH, Issue, issue, only_type_mismatches
from topolint.analysis.contracts.keywords import (
    ALL_TYPES,
    TYPE_GROUPS,
    mapping,
    strs,
    trivial,
    type_set,
    value_type,
)
from topolint.analysis.contracts.refs import NOT_FOUND
from topolint.analysis.contracts.values import definite, finite_values
from topolint.analysis.contracts.wording import type_names

if TYPE_CHECKING:
    from topolint.analysis.contracts.subsumption import Checker
    from topolint.analysis.contracts.views import Atoms, View


def check(chk: Checker, view: View, atoms: Atoms, c: Mapping[str, Any], depth: int) -> list[Issue]:
    """Issues of the producer alternative ``atoms`` against the combinators of ``c``."""
    out = _refs(chk, view, atoms, c, depth)
    if isinstance(c.get("allOf"), list):
        for b in c["allOf"]:
            out += chk.check(atoms, b, depth + 1)
    for kw in ("anyOf", "oneOf"):
        if isinstance(c.get(kw), list) and c[kw]:
            out += _any(chk, view, atoms, c[kw], kw, depth)
    if "not" in c:
        out += _not(chk, view, c)
    if "if" in c and not (trivial(c.get("then", True)) and trivial(c.get("else", True))):
        out += _if(chk, view, atoms, c, depth)
    return out


def _refs(chk: Checker, view: View, atoms: Atoms, c: Mapping[str, Any], depth: int) -> list[Issue]:
    """The consumer's ``$ref`` is followed; ``$dynamicRef``/``$recursiveRef`` are not."""
    out: list[Issue] = []
    ref = c.get("$ref")
    if isinstance(ref, str):
        target = chk.resolver.resolve(ref, chk.c_root)
        if target is None:
            out.append(
                issue(
                    "ref",
                    f"consumer $ref '{ref}' is not local; topolint never fetches schemas,"
                    " so this part is not checked",
                )
            )
        elif target is NOT_FOUND:
            out.append(issue("ref", f"consumer $ref '{ref}' does not resolve in its schema"))
        else:
            out += chk.check(atoms, target, depth + 1)
    for kw in ("$dynamicRef", "$recursiveRef"):
        if isinstance(c.get(kw), str) and not chk.producer_has(view, kw, c[kw]):
            out.append(issue("ref", f"consumer {kw} '{c[kw]}' is not checked"))
    return out


def _type_groups(types: frozenset[str] | None) -> list[frozenset[str] | None]:
    """The producer's types split as a schema writer groups them (``None``: unsplit)."""
    if types is not None:
        split = [g & types for _, g in TYPE_GROUPS if g & types]
        if len(split) > 1:
            return list(split)
    return [None]


def _any(
    chk: Checker, view: View, atoms: Atoms, branches: list[Any], kw: str, depth: int
) -> list[Issue]:
    """The producer (split by type) must fit some branch; else the closest one's issues."""
    out: list[Issue] = []
    for g in _type_groups(view.types):
        sub = atoms if g is None else (*atoms, chk.norm.type_atom(g))
        closest = _closest_branch(chk, sub, branches, depth)
        if closest is None:
            continue
        if only_type_mismatches(closest):
            shown = g if g is not None else view.types
            sent = "any JSON value" if shown is None else type_names(shown)
            out.append(
                issue("type", f"the producer may send {sent}, which none of the consumer's"
                      f" {kw} alternatives accepts")
            )  # fmt: skip
        else:
            out += closest
    return out


def _closest_branch(
    chk: Checker, atoms: Atoms, branches: list[Any], depth: int
) -> list[Issue] | None:
    """``None`` if some branch accepts ``atoms``, else the issues of the closest one
    (fewest type mismatches at the top, then fewest issues; the first of equals)."""
    best: tuple[tuple[int, int], list[Issue]] | None = None
    for b in branches:
        r = chk.check(atoms, b, depth + 1)
        if not r:
            return None
        score = (sum(1 for p, k, _ in r if p == "" and k == "type"), len(r))
        if best is None or score < best[0]:
            best = (score, r)
    return None if best is None else best[1]


def _not(chk: Checker, view: View, c: Mapping[str, Any]) -> list[Issue]:
    n = c["not"]
    if chk.producer_has(view, "not", n) or disjoint(chk, view, n):
        return []
    if n is True or (isinstance(n, Mapping) and trivial(n)):
        return [("", "forbidden", "the consumer accepts nothing here (not: {})")]
    return [
        (
            "",
            "not",
            "the consumer rejects values matching its 'not' schema; the producer is not"
            " shown to exclude them",
        )
    ]


def _if(chk: Checker, view: View, atoms: Atoms, c: Mapping[str, Any], depth: int) -> list[Issue]:
    then_r = chk.check(atoms, c.get("then", True), depth + 1)
    else_r = chk.check(atoms, c.get("else", True), depth + 1)
    if not then_r and not else_r:
        return []
    if chk.producer_has(view, "if", c["if"]) and all(
        chk.producer_has(view, k, c[k]) for k in ("then", "else") if k in c
    ):
        return []
    if not chk.check(atoms, c["if"], depth + 1):
        return then_r
    if disjoint(chk, view, c["if"]):
        return else_r
    return [
        (
            "",
            "unchecked",
            "the consumer's if/then/else cannot be checked: the producer may fall on"
            " either side of its 'if'",
        )
    ]


def disjoint(chk: Checker, view: View, s: Any, depth: int = 0) -> bool:
    """Is no producer value (of ``view``) valid under consumer part ``s``?  False if unsure."""
    if view.unsat or s is False:
        return True
    if not isinstance(s, Mapping) or depth > MAX_DEPTH:
        return False
    values = finite_values(view, chk.values, chk.p_root)
    if values is not None:
        validate = chk.values.validate
        return all(definite(validate(v, s, chk.c_root, 0)) for v in values)
    ptypes = view.types or ALL_TYPES
    st = type_set(s.get("type")) if "type" in s else None
    if st is not None and not (st & ptypes):
        return True
    vals = [s["const"]] if "const" in s else s.get("enum")
    if isinstance(vals, list) and not any(value_type(v) in ptypes for v in vals):
        return True
    if _disjoint_parts(chk, view, s, depth):
        return True
    if not (ptypes & (st or ALL_TYPES)) <= {"object"}:
        return False  # s may accept a non-object the producer sends
    return _disjoint_fields(chk, view, s, depth)


def _disjoint_parts(chk: Checker, view: View, s: Mapping[str, Any], depth: int) -> bool:
    """Is the producer disjoint from ``s``'s reference, an ``allOf`` part, or every branch?"""
    ref = s.get("$ref")
    if isinstance(ref, str):
        target = chk.resolver.found(ref, chk.c_root)
        if target is not None and disjoint(chk, view, target, depth + 1):
            return True
    if isinstance(s.get("allOf"), list) and any(
        disjoint(chk, view, b, depth + 1) for b in s["allOf"]
    ):
        return True
    for kw in ("anyOf", "oneOf"):
        branches = s.get(kw)
        alternatives = branches if isinstance(branches, list) else []
        if alternatives and all(disjoint(chk, view, b, depth + 1) for b in alternatives):
            return True
    return False


def _disjoint_fields(chk: Checker, view: View, s: Mapping[str, Any], depth: int) -> bool:
    """Does ``s`` require a field the producer never sends, or constrain a required field
    so that no producer value fits?"""
    if any(objects.field_schemas(chk, view, r)[2] for r in strs(s.get("required"))):
        return True
    for name, ps in mapping(s.get("properties")).items():
        if name not in view.required:
            continue
        alts, _ = chk.norm.dnf_list(objects.field_schemas(chk, view, name)[0])
        if all(disjoint(chk, chk.norm.view(a), ps, depth + 1) for a in alts):
            return True
    return False
