"""Local references: ``#``, ``#/json/pointer`` and ``#anchor``.  Nothing is ever fetched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: What :meth:`Resolver.resolve` returns for a local reference that leads nowhere.
NOT_FOUND: Any = object()


def _pointer_target(root: Any, pointer: str) -> Any:
    """The part of ``root`` at JSON pointer ``pointer`` (``/a/0/b``), or :data:`NOT_FOUND`."""
    node = root
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return NOT_FOUND
    return node


def _anchors(root: Any) -> dict[str, Any]:
    """Every ``$anchor`` (and draft-6 ``$id: "#name"``) of ``root``: the first one wins."""
    idx: dict[str, Any] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, Mapping):
            a = o.get("$anchor")
            if isinstance(a, str):
                idx.setdefault(a, o)
            i = o.get("$id")
            if isinstance(i, str) and i.startswith("#"):
                idx.setdefault(i[1:], o)
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return idx


class Resolver:
    """Follows local references, with each root's anchors indexed once."""

    def __init__(self) -> None:
        self._anchors: dict[int, dict[str, Any]] = {}

    def resolve(self, ref: str, root: Any) -> Any:
        """A local reference's target, :data:`NOT_FOUND`, or ``None`` for non-local refs."""
        if ref == "#" or ref == "":
            return root
        if not ref.startswith("#"):
            return None
        frag = ref[1:]
        if "%" in frag:
            from urllib.parse import unquote

            frag = unquote(frag)
        if not frag.startswith("/"):
            return self._anchor_index(root).get(frag, NOT_FOUND)
        return _pointer_target(root, frag)

    def found(self, ref: str, root: Any) -> Any:
        """The target of ``ref`` in ``root``, or ``None`` when it cannot be followed."""
        target = self.resolve(ref, root)
        return None if target is NOT_FOUND else target

    def _anchor_index(self, root: Any) -> dict[str, Any]:
        idx = self._anchors.get(id(root))
        if idx is None:
            idx = self._anchors[id(root)] = _anchors(root)
        return idx
