"""Does the producer's schema satisfy the consumer's?  The comparison and its driver.

:class:`Checker` holds what one comparison shares (canonical ids, references, producer
views, value validation, memo tables) and walks the consumer schema: for each
alternative of the producer it applies the keyword families (:mod:`.combinators`,
:mod:`.scalars`, :mod:`.arrays`, :mod:`.objects`), which recurse through
:meth:`Checker.check_list` for nested parts.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from topolint.analysis.contracts import arrays, combinators, objects, scalars
from topolint.analysis.contracts.identity import Identity
from topolint.analysis.contracts.issues import (
    FRAMES_NEEDED,
    MAX_ALTERNATIVES,
    MAX_DEPTH,
    MAX_RESULTS,
    Incompatibility,
    Issue,
    dedupe,
    issue,
)
from topolint.analysis.contracts.keywords import ALL_TYPES, NUMBERS, trivial, type_set
from topolint.analysis.contracts.refs import Resolver
from topolint.analysis.contracts.values import Values, finite_values, first_reasons
from topolint.analysis.contracts.views import Atoms, Normaliser, View


class Checker:
    """One comparison of a producer schema with a consumer schema.

    Parameters
    ----------
    producer_root, consumer_root : schema
        The documents against which each side's local references resolve.
    """

    def __init__(self, producer_root: Any, consumer_root: Any) -> None:
        self.p_root = producer_root
        self.c_root = consumer_root
        self.identity = Identity()
        self.resolver = Resolver()
        self.norm = Normaliser(producer_root, self.identity, self.resolver)
        self.values = Values(self.identity, self.resolver)
        #: consumer schema id -> (field names, patterns, evaluates everything)
        self.evaluated: dict[int, tuple[set[str], set[str], bool]] = {}
        self._memo: dict[tuple[Any, ...], list[Issue]] = {}
        self._busy: set[tuple[Any, ...]] = set()
        self._roots_equal: bool | None = None  # computed when first needed

    def same(self, p: Any, c: Any) -> bool:
        """Are producer part ``p`` and consumer part ``c`` the same schema?"""
        canon = self.identity.canon
        cid = canon(c)
        if canon(p) != cid:
            return False
        if not self.identity.has_ref(cid):
            return True
        if self._roots_equal is None:
            self._roots_equal = canon(self.p_root) == canon(self.c_root)
        return self._roots_equal

    def producer_has(self, view: View, kw: str, value: Any) -> bool:
        """Does some producer node declare keyword ``kw`` exactly as the consumer does?"""
        return any(kw in n and self.same(n[kw], value) for n in view.nodes)

    def check_list(self, producers: Sequence[Any], c: Any, depth: int) -> list[Issue]:
        """Issues of the conjunction ``producers`` against consumer ``c``."""
        if trivial(c) or any(self.same(p, c) for p in producers):
            return []
        alts, cut = self.norm.dnf_list(producers)
        out: list[Issue] = []
        for atoms in alts:
            out.extend(self.check(atoms, c, depth))
        if cut:
            out.append(
                issue(
                    "unchecked",
                    f"the producer has more than {MAX_ALTERNATIVES} alternatives"
                    " (anyOf/oneOf); only the first ones were checked",
                )
            )
        return dedupe(out)[:MAX_RESULTS]

    def check(self, atoms: Atoms, c: Any, depth: int) -> list[Issue]:
        """Issues of one producer alternative ``atoms`` against consumer ``c`` (memoised)."""
        if trivial(c):
            return []
        key = (tuple(id(a) for a in atoms), id(c))
        got = self._memo.get(key)
        if got is not None:
            return got
        if key in self._busy:
            return []  # recursive schemas: assume compatible on re-entry
        if depth > MAX_DEPTH:
            return [("", "unchecked", f"schemas nested deeper than {MAX_DEPTH} levels")]
        self._busy.add(key)
        try:
            res = dedupe(self._check(atoms, c, depth))[:MAX_RESULTS]
        finally:
            self._busy.discard(key)
        self._memo[key] = res
        self.identity.pin(atoms)
        return res

    def _check(self, atoms: Atoms, c: Any, depth: int) -> list[Issue]:
        view = self.norm.view(atoms)
        if view.unsat:
            return []
        if c is False:
            return [("", "forbidden", "the consumer accepts nothing here (schema false)")]
        if any(self.same(n, c) for n in view.nodes):
            return []
        if view.opaque:
            return [("", o.kind, o.reason) for o in view.opaque]
        values = finite_values(view, self.values, self.p_root)
        if values is not None:
            return first_reasons(values, c, self.values, self.c_root)
        return self._families(view, atoms, c, depth)

    def _families(self, view: View, atoms: Atoms, c: Mapping[str, Any], depth: int) -> list[Issue]:
        """Every keyword family of ``c`` that applies to what the producer may send."""
        out = combinators.check(self, view, atoms, c, depth)
        out += scalars.check_type_and_values(view, c)
        ctypes = type_set(c.get("type")) if "type" in c else None
        may = (view.types or ALL_TYPES) & (ctypes or ALL_TYPES)
        if may & NUMBERS:
            out += scalars.check_numbers(view, c, integer_only="fraction" not in may)
        if "string" in may:
            out += scalars.check_strings(view, c)
        if "array" in may:
            out += arrays.check(self, view, c, depth)
        if "object" in may:
            out += objects.check(self, view, c, depth)
        return out


def incompatibilities(
    producer: Mapping[str, Any] | bool,
    consumer: Mapping[str, Any] | bool,
    *,
    producer_root: Mapping[str, Any] | None = None,
    consumer_root: Mapping[str, Any] | None = None,
) -> list[Incompatibility]:
    """Ways in which a message valid under ``producer`` may be rejected by ``consumer``.

    ``[]`` means every instance valid under the producer schema is valid under the
    consumer schema, as far as this analysis can tell.

    Parameters
    ----------
    producer, consumer : schema
        The sender's and the receiver's message schema (a mapping or a boolean).
    producer_root, consumer_root : mapping, optional
        The documents that local ``$ref`` values resolve against (default: the schemas
        themselves).

    Returns
    -------
    list of Incompatibility
        Pointers are instance paths in consumer-schema vocabulary
        (``/properties/hits/items/properties/energy``).

    Examples
    --------
    >>> hit = {"type": "object", "required": ["energy"]}
    >>> incompatibilities({"type": "object"}, hit)[0].kind
    'missing-required'
    >>> incompatibilities(hit, {"type": "object"})
    []
    """
    p_root = producer if producer_root is None else producer_root
    c_root = consumer if consumer_root is None else consumer_root
    limit = _make_room()
    try:
        issues = Checker(p_root, c_root).check_list([producer], consumer, 0)
    finally:
        if sys.getrecursionlimit() != limit:
            sys.setrecursionlimit(limit)
    return [Incompatibility(pointer=p, reason=r, kind=k) for p, k, r in issues]


def _make_room() -> int:
    """Raise the recursion limit so that the deepest check fits; return the old limit.

    The checks recurse along the schemas (bounded by ``MAX_DEPTH``).
    """
    frame: Any = sys._getframe()
    used = 0
    while frame is not None:
        frame, used = frame.f_back, used + 1
    limit = sys.getrecursionlimit()
    if limit < used + FRAMES_NEEDED:
        sys.setrecursionlimit(used + FRAMES_NEEDED)
    return limit
