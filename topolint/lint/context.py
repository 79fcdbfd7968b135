"""What a rule sees: the topology, its wiring, lazily computed analyses, and its options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from topolint.lint.graph import TopologyGraph
from topolint.lint.model import Topology

if TYPE_CHECKING:
    from topolint.analysis.performance import Analysis

T = TypeVar("T")


@dataclass
class Context:
    """Passed to every rule's ``check``."""

    topology: Topology
    wiring: TopologyGraph
    options: dict[str, Any] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def graph(self) -> TopologyGraph:
        return self.wiring

    @cached_property
    def analysis(self) -> Analysis:
        """Throughput, latency and memory bounds (computed once, on first use)."""
        from topolint.analysis.performance import analyze

        return analyze(self.topology, self.wiring)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """A result shared by several rules of one run, built on first use (e.g. the
        end-of-data model, the join analysis)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)
