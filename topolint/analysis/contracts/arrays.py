"""The consumer's array keywords: item counts, uniqueness, items by position, ``contains``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from topolint.analysis.contracts.issues import Issue, issue, prefixed
from topolint.analysis.contracts.keywords import count, item_keywords, item_parts

if TYPE_CHECKING:
    from topolint.analysis.contracts.subsumption import Checker
    from topolint.analysis.contracts.views import View


class _Items:
    """The producer's item schemas by position: each node's positional list and rest."""

    def __init__(self, view: View) -> None:
        self.parts = [item_parts(n) for n in view.nodes]
        self.positional = any(p is not None for p, _ in self.parts)

    def longest(self) -> int:
        """The most positions any producer node declares."""
        return max([0] + [len(p) for p, _ in self.parts if p is not None])

    def at(self, i: int | None) -> list[Any]:
        """The producer schemas for item ``i`` (``None``: an item past every position)."""
        got: list[Any] = []
        for p, rest in self.parts:
            if i is not None and p is not None and i < len(p):
                got.append(p[i])
            else:
                got.append(rest)
        return got


def check(chk: Checker, view: View, c: Mapping[str, Any], depth: int) -> list[Issue]:
    """Issues of producer ``view`` against the array keywords of consumer ``c``."""
    out = _counts(view, c)
    items = _Items(view)
    n_pos = max(len(item_parts(c)[0] or []), items.longest())
    out += _items(chk, view, c, items, n_pos, depth)
    if "contains" in c and not _contains(chk, view, c["contains"], items, n_pos, depth):
        reason = (
            "the consumer requires an item matching its 'contains' schema; the"
            " producer does not guarantee one"
        )
        out.append(issue("contains", reason))
    for kw in ("minContains", "maxContains", "unevaluatedItems"):
        if kw in c and not chk.producer_has(view, kw, c[kw]):
            out.append(issue("unchecked", f"the consumer's '{kw}' is not checked"))
    return out


def _counts(view: View, c: Mapping[str, Any]) -> list[Issue]:
    """``minItems``, ``maxItems`` and ``uniqueItems``."""
    out: list[Issue] = []
    cmin = count(c.get("minItems")) or 0
    if cmin > view.min_items:
        reason = (
            f"the consumer requires at least {cmin} items; the producer guarantees {view.min_items}"
        )
        out.append(issue("minItems", reason))
    cmax = count(c.get("maxItems"))
    pmax = view.max_items
    if cmax is not None and (pmax is None or pmax > cmax):
        got = "no limit" if pmax is None else f"up to {pmax}"
        reason = f"the consumer accepts at most {cmax} items; the producer allows {got}"
        out.append(issue("maxItems", reason))
    at_most_one = pmax is not None and pmax <= 1
    if c.get("uniqueItems") is True and not view.unique and not at_most_one:
        out.append(
            issue("uniqueItems", "the consumer requires unique items; the producer does not")
        )
    return out


def _items(
    chk: Checker, view: View, c: Mapping[str, Any], items: _Items, n_pos: int, depth: int
) -> list[Issue]:
    """Each position either side declares, then the items past every position."""
    out: list[Issue] = []
    cpos, crest = item_parts(c)
    cpos = cpos or []
    pos_kw, rest_kw = item_keywords(c)
    pmax = view.max_items
    for i in range(n_pos):
        if pmax is not None and i >= pmax:
            break
        cs = cpos[i] if i < len(cpos) else crest
        ptr = f"/{pos_kw}/{i}" if i < len(cpos) else f"/{rest_kw}"
        out += prefixed(ptr, chk.check_list(items.at(i), cs, depth + 1))
    if pmax is None or pmax > n_pos:
        out += prefixed(f"/{rest_kw}", chk.check_list(items.at(None), crest, depth + 1))
    return out


def _contains(chk: Checker, view: View, cc: Any, items: _Items, n_pos: int, depth: int) -> bool:
    """Does the producer guarantee an item valid under the consumer's ``contains``?"""
    if chk.producer_has(view, "contains", cc):
        return True
    if view.min_items < 1:
        return False
    if not items.positional:
        return not chk.check_list(items.at(None), cc, depth + 1)
    return any(
        not chk.check_list(items.at(i), cc, depth + 1) for i in range(min(view.min_items, n_pos))
    )
