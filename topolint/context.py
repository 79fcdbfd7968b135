"""What a rule sees: the topology, its wiring, lazily computed analyses, and its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from topolint.graph import TopologyGraph
from topolint.model import Topology

if TYPE_CHECKING:
    from topolint.analysis import Analysis


@dataclass
class Context:
    """Passed to every rule's ``check``."""

    topology: Topology
    wiring: TopologyGraph
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def graph(self) -> TopologyGraph:
        return self.wiring

    @cached_property
    def analysis(self) -> Analysis:
        """Throughput, latency and memory bounds (computed once, on first use)."""
        from topolint.analysis import analyze

        return analyze(self.topology, self.wiring)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)
