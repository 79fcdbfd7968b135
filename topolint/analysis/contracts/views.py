"""Normalised views of a producer schema.

A producer schema is brought into disjunctive normal form: a list of alternatives, each a
conjunction (*atoms*) of schema nodes, with local ``$ref`` followed, ``allOf`` merged and
``anyOf``/``oneOf`` distributed (:meth:`Normaliser.dnf`).  The constraints of one
conjunction are then merged into a :class:`View`: its type set, its finite set of values,
its bounds, required fields and limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from topolint.analysis.contracts import bounds, keywords
from topolint.analysis.contracts.identity import Identity
from topolint.analysis.contracts.issues import MAX_ALTERNATIVES, MAX_DEPTH
from topolint.analysis.contracts.keywords import CONSTRAINT_KEYS, TRANSPARENT, count, min_opt
from topolint.analysis.contracts.refs import NOT_FOUND, Resolver


class Opaque:
    """A producer part that cannot be analysed (a non-local or broken ``$ref``)."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason


class TypeAtom:
    """A synthetic producer conjunct restricting the type (used to split by type)."""

    __slots__ = ("types",)

    def __init__(self, types: frozenset[str]) -> None:
        self.types = types


Atom = Any  # Mapping | Opaque | TypeAtom | bool
Atoms = tuple[Atom, ...]
Alternatives = tuple[list[Atoms], bool]  # (alternatives, whether some were dropped)


class View:
    """The merged constraints of a conjunction of producer schemas.

    Parameters
    ----------
    atoms : tuple
        The conjunction: schema nodes, :class:`Opaque` parts and :class:`TypeAtom`.
    key : callable
        Canonical id of a JSON value (enum values are intersected by it).
    never : callable
        Does a schema admit no value?  (Closed ``additionalProperties`` and item lists.)
    """

    __slots__ = (
        "atoms", "enum", "formats", "lower", "max_items", "max_len", "max_props",
        "min_items", "min_len", "min_props", "multiple_of", "nodes", "opaque", "patterns",
        "required", "types", "unique", "unsat", "upper",
    )  # fmt: skip

    def __init__(
        self, atoms: Atoms, key: Callable[[Any], int], never: Callable[[Any], bool]
    ) -> None:
        self.atoms = atoms
        self.nodes: list[Mapping[str, Any]] = [a for a in atoms if isinstance(a, Mapping)]
        self.opaque: list[Opaque] = [a for a in atoms if isinstance(a, Opaque)]
        self.types: frozenset[str] | None = None
        self.enum: list[Any] | None = None
        self.required: set[str] = set()
        self.lower: bounds.Bound | None = None
        self.upper: bounds.Bound | None = None
        self.multiple_of: list[int | float] = []
        self.min_len = 0
        self.max_len: int | None = None
        self.patterns: list[str] = []
        self.formats: list[str] = []
        self.min_items = 0
        self.max_items: int | None = None
        self.unique = False
        self.min_props = 0
        self.max_props: int | None = None
        self.unsat = any(a is False for a in atoms)
        for a in atoms:
            if isinstance(a, TypeAtom):
                self._restrict_types(a.types)
        for n in self.nodes:
            self._merge(n, key, never)
        self._conclude()

    def _conclude(self) -> None:
        """Consequences of the merged constraints: integral multiples, empty sets."""
        integral = any(float(m).is_integer() for m in self.multiple_of)
        if self.types is not None and "fraction" in self.types and integral:
            self.types = self.types - {"fraction"}
        if self.types is not None and not self.types:
            self.unsat = True
        if self.enum is not None and not self.enum:
            self.unsat = True

    def _restrict_types(self, ts: frozenset[str]) -> None:
        self.types = ts if self.types is None else self.types & ts

    def _merge(
        self, n: Mapping[str, Any], key: Callable[[Any], int], never: Callable[[Any], bool]
    ) -> None:
        if "type" in n:
            ts = keywords.type_set(n["type"])
            if ts is not None:
                self._restrict_types(ts)
        self._merge_values(n, key)
        self.required.update(keywords.strs(n.get("required")))
        self.lower = bounds.tighter(self.lower, bounds.lower(n), lower=True)
        self.upper = bounds.tighter(self.upper, bounds.upper(n), lower=False)
        m = keywords.num(n.get("multipleOf"))
        if m is not None and m > 0:
            self.multiple_of.append(m)
        self._merge_strings(n)
        self._merge_arrays(n, never)
        self._merge_objects(n, never)

    def _merge_values(self, n: Mapping[str, Any], key: Callable[[Any], int]) -> None:
        """Intersect the finite value set with ``const`` and ``enum``."""
        values: list[Any] | None = None
        if "const" in n:
            values = [n["const"]]
        if isinstance(n.get("enum"), list):
            enum = n["enum"]
            if values is None:
                values = list(enum)
            else:
                allowed = {key(v) for v in enum}
                values = [v for v in values if key(v) in allowed]
        if values is not None:
            if self.enum is None:
                self.enum = values
            else:
                allowed = {key(v) for v in values}
                self.enum = [v for v in self.enum if key(v) in allowed]

    def _merge_strings(self, n: Mapping[str, Any]) -> None:
        self.min_len = max(self.min_len, count(n.get("minLength")) or 0)
        self.max_len = min_opt(self.max_len, count(n.get("maxLength")))
        if isinstance(n.get("pattern"), str):
            self.patterns.append(n["pattern"])
        if isinstance(n.get("format"), str):
            self.formats.append(n["format"])

    def _merge_arrays(self, n: Mapping[str, Any], never: Callable[[Any], bool]) -> None:
        self.min_items = max(self.min_items, count(n.get("minItems")) or 0)
        self.max_items = min_opt(self.max_items, count(n.get("maxItems")))
        pos, rest = keywords.item_parts(n)
        if pos is not None and never(rest):
            self.max_items = min_opt(self.max_items, len(pos))
        if n.get("uniqueItems") is True:
            self.unique = True

    def _merge_objects(self, n: Mapping[str, Any], never: Callable[[Any], bool]) -> None:
        self.min_props = max(self.min_props, count(n.get("minProperties")) or 0)
        self.max_props = min_opt(self.max_props, count(n.get("maxProperties")))
        closed = never(n.get("additionalProperties", True))
        if closed and not keywords.mapping(n.get("patternProperties")):
            self.max_props = min_opt(self.max_props, len(keywords.mapping(n.get("properties"))))


def product(a: list[Atoms], b: list[Atoms]) -> Alternatives:
    """Every conjunction of one of ``a`` with one of ``b``; capped, with whether it was."""
    out: list[Atoms] = []
    for x in a:
        for y in b:
            if len(out) >= MAX_ALTERNATIVES:
                return out, True
            out.append(x + y)
    return out, False


class Normaliser:
    """Producer schemas in normal form, their views, and which ones admit nothing.

    Everything is memoised by object identity for the life of one comparison.

    Parameters
    ----------
    root : schema
        The producer's root, against which its local references resolve.
    identity, resolver
        Shared with the rest of the comparison.
    """

    def __init__(self, root: Any, identity: Identity, resolver: Resolver) -> None:
        self.root = root
        self.identity = identity
        self.resolver = resolver
        self._dnf_memo: dict[int, Alternatives] = {}
        self._dnf_busy: set[int] = set()
        self._views: dict[tuple[int, ...], View] = {}
        self._never: dict[int, bool] = {}
        self._opaque: dict[tuple[str, str], Opaque] = {}
        self._type_atoms: dict[frozenset[str], TypeAtom] = {}

    def opaque(self, kind: str, reason: str) -> Opaque:
        """The (shared) opaque atom reporting ``reason``."""
        k = (kind, reason)
        if k not in self._opaque:
            self._opaque[k] = Opaque(kind, reason)
        return self._opaque[k]

    def type_atom(self, types: frozenset[str]) -> TypeAtom:
        """The (shared) atom restricting the type to ``types``."""
        if types not in self._type_atoms:
            self._type_atoms[types] = TypeAtom(types)
        return self._type_atoms[types]

    def dnf(self, s: Any, depth: int = 0) -> Alternatives:
        """Alternatives of a producer schema, and whether some were dropped (too many)."""
        if s is False:
            return [], False
        if not isinstance(s, Mapping):
            return [()], False
        sid = id(s)
        if sid in self._dnf_memo:
            return self._dnf_memo[sid]
        if sid in self._dnf_busy:
            return [()], False  # a reference cycle at one level: no further constraint
        if depth > MAX_DEPTH:
            return [(self.opaque("unchecked", "producer schema nested too deeply"),)], False
        self._dnf_busy.add(sid)
        try:
            result = self._expand(s, depth)
        finally:
            self._dnf_busy.discard(sid)
        self._dnf_memo[sid] = result
        return result

    def _expand(self, s: Mapping[str, Any], depth: int) -> Alternatives:
        # a node that only combines others (a bare $ref, allOf, ...) adds no atom of its
        # own: recursive references then meet the same atoms and terminate early
        own = any(k in CONSTRAINT_KEYS and k not in TRANSPARENT for k in s)
        alts: list[Atoms] = [(s,)] if own else [()]
        alts, cut = self._with_refs(s, alts, depth)
        if isinstance(s.get("allOf"), list):
            for b in s["allOf"]:
                sub, c0 = self.dnf(b, depth + 1)
                alts, c = product(alts, sub)
                cut = cut or c or c0
        for kw in ("anyOf", "oneOf"):
            branches = s.get(kw)
            if isinstance(branches, list) and branches:
                union, c0 = self._union(branches, depth)
                alts, c = product(alts, union)
                cut = cut or c0 or c
        return alts, cut

    def _with_refs(self, s: Mapping[str, Any], alts: list[Atoms], depth: int) -> Alternatives:
        """``alts`` conjoined with what the references of ``s`` lead to."""
        cut = False
        for kw in ("$ref", "$dynamicRef", "$recursiveRef"):
            r = s.get(kw)
            if not isinstance(r, str):
                continue
            target = self.resolver.resolve(r, self.root) if kw == "$ref" else None
            if target is None or target is NOT_FOUND:
                why = "does not resolve" if target is NOT_FOUND else "is not local"
                atom = self.opaque("ref", f"producer {kw} '{r}' {why}; it is not checked")
                alts, c = product(alts, [(atom,)])
            else:
                sub, c0 = self.dnf(target, depth + 1)
                alts, c = product(alts, sub)
                cut = cut or c0
            cut = cut or c
        return alts, cut

    def _union(self, branches: list[Any], depth: int) -> Alternatives:
        """The alternatives of any of ``branches`` (capped)."""
        union: list[Atoms] = []
        cut = False
        for b in branches:
            sub, c0 = self.dnf(b, depth + 1)
            union.extend(sub)
            cut = cut or c0
        if len(union) > MAX_ALTERNATIVES:
            union, cut = union[:MAX_ALTERNATIVES], True
        return union, cut

    def dnf_list(self, schemas: Sequence[Any]) -> Alternatives:
        """Alternatives of the conjunction of ``schemas``."""
        alts: list[Atoms] = [()]
        cut = False
        for s in schemas:
            sub, c0 = self.dnf(s)
            alts, c = product(alts, sub)
            cut = cut or c or c0
        return alts, cut

    def view(self, atoms: Atoms) -> View:
        """The merged constraints of the conjunction ``atoms`` (memoised)."""
        k = tuple(id(a) for a in atoms)
        v = self._views.get(k)
        if v is None:
            v = View(atoms, self.identity.canon, self.never)
            self._views[k] = v
            self.identity.pin(atoms)
        return v

    def never(self, s: Any) -> bool:
        """Does producer schema ``s`` admit no value at all (as far as we can tell)?"""
        if s is False:
            return True
        if s is True or not isinstance(s, Mapping):
            return False
        got = self._never.get(id(s))
        if got is None:
            self._never[id(s)] = False  # re-entry (recursive schemas): assume satisfiable
            alts, _ = self.dnf(s)
            got = all(self.view(a).unsat for a in alts)
            self._never[id(s)] = got
        return got
