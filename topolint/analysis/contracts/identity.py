"""Structural identity of schema parts: equal JSON gets equal small integers.

Hash-consing, iterative and cycle-safe, so that "is this the same schema?" and "is this
value in the enum?" are integer comparisons however large the parts are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})
_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


def _leaf_key(o: Any) -> Any:
    if o is None:
        return ("z",)
    if isinstance(o, bool):
        return ("b", o)
    if isinstance(o, (int, float)):
        return ("n", o)
    if isinstance(o, str):
        return ("s", o)
    return ("o", type(o).__name__, repr(o))


class Identity:
    """Canonical ids of JSON values, by structure.

    Ids are memoised by object identity, so every object given an id is kept alive
    (:meth:`pin`) for as long as this object lives.  Two parts that contain references
    (``$ref`` and the like) may have equal ids and still mean different things when they
    resolve against different roots: :meth:`has_ref` tells.
    """

    def __init__(self) -> None:
        self._canon: dict[int, int] = {}
        self._table: dict[Any, int] = {}
        self._has_ref: dict[int, bool] = {}
        self._pins: list[Any] = []

    def pin(self, obj: Any) -> Any:
        """Keep ``obj`` alive (its ``id`` is a memo key) and return it."""
        self._pins.append(obj)
        return obj

    def has_ref(self, cid: int) -> bool:
        """Does the part with canonical id ``cid`` contain a reference?"""
        return self._has_ref.get(cid, False)

    def canon(self, obj: Any) -> int:
        """The canonical id of ``obj``: equal for structurally equal JSON values."""
        known = self._canon  # locals: this loop is most of a comparison's time
        oid = id(obj)
        if oid in known:
            return known[oid]
        self._pins.append(obj)
        on_stack: set[int] = set()
        stack: list[tuple[Any, bool]] = [(obj, False)]
        while stack:
            o, expanded = stack.pop()
            i = id(o)
            if i in known:
                continue
            t = type(o)
            if t in _LEAF_TYPES:
                known[i] = self._intern(_leaf_key(o), False)
                continue
            is_map = t is dict or (t is not list and isinstance(o, Mapping))
            if is_map:
                children = list(o.values())
            elif t is list or isinstance(o, tuple):
                children = list(o)
            else:
                known[i] = self._intern(_leaf_key(o), False)
                continue
            if not expanded:
                if i in on_stack:
                    continue
                on_stack.add(i)
                stack.append((o, True))
                self._expand(children, stack)
                continue
            on_stack.discard(i)
            known[i] = self._container(o, children, is_map)
        return known[oid]

    def _expand(self, children: list[Any], stack: list[tuple[Any, bool]]) -> None:
        """Give the leaves among ``children`` their ids; push the containers on ``stack``."""
        known, intern = self._canon, self._intern
        for c in children:
            ci = id(c)
            if ci in known:
                continue
            t = type(c)
            if t is str:
                known[ci] = intern(("s", c), False)
            elif t in _LEAF_TYPES:
                known[ci] = intern(_leaf_key(c), False)
            else:
                stack.append((c, False))

    def _container(self, o: Any, children: list[Any], is_map: bool) -> int:
        """The id of a mapping or list whose children all have ids (or are cycles)."""
        known, has_ref, child = self._canon, self._has_ref, self._child
        ref = False
        if is_map:
            items = []
            for k, v in o.items():
                cid = known.get(id(v))
                if cid is None:
                    cid = child()
                ref = ref or has_ref.get(cid, False)
                items.append((k if isinstance(k, str) else "\x00" + repr(k), cid))
            items.sort()
            ref = ref or any(k in o for k in _REF_KEYWORDS)
            return self._intern(("d", tuple(items)), ref)
        ids = []
        for v in children:
            cid = known.get(id(v))
            if cid is None:
                cid = child()
            ref = ref or has_ref.get(cid, False)
            ids.append(cid)
        return self._intern(("l", tuple(ids)), ref)

    def _child(self) -> int:
        """The id of a child that is a cycle back to an ancestor: unique, equal to nothing."""
        return self._intern(("cycle", len(self._table)), True)

    def _intern(self, key: Any, has_ref: bool) -> int:
        cid = self._table.get(key)
        if cid is None:
            cid = len(self._table)
            self._table[key] = cid
            self._has_ref[cid] = has_ref
        return cid
