"""``--scenario`` values: what to break during a reference run.

``stall=PROCESS``            the process never reads (measures its senders' queue capacity)
``late-start=PROCESS:DELAY`` the process starts DELAY later (``500ms``, ``2s``; a bare number
                             is seconds): the slow joiner
``kill=PROCESS@FRACTION``    SIGKILL it once the sources emitted that fraction (``0.5``,
                             ``50%``) of the run's messages
``drop-end-of-data=PROCESS`` it swallows every end-of-data signal

PROCESS names a declared process (every replica) or one instance (``worker[1]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("stall", "late-start", "kill", "drop-end-of-data")
_INSTANCE = re.compile(r"^(?P<proc>[^\[\]]+)(?:\[(?P<idx>\d+)\])?$")
MAX_DELAY = 3600.0


class ScenarioError(ValueError):
    """A malformed ``--scenario`` value (a command-line error: exit code 2)."""


@dataclass(frozen=True)
class Scenario:
    """One ``--scenario``: ``kind`` (one of ``KINDS``: stall, late-start, kill,
    drop-end-of-data) applied to ``target``, a process name or an instance id."""

    kind: str
    target: str  # a process name or an instance id
    delay: float = 0.0  # late-start
    fraction: float = 0.0  # kill

    def __str__(self) -> str:
        if self.kind == "late-start":
            return f"late-start={self.target}:{self.delay:g}s"
        if self.kind == "kill":
            return f"kill={self.target}@{self.fraction:g}"
        return f"{self.kind}={self.target}"

    def matches(self, instance: str, process: str) -> bool:
        """Does the scenario apply to ``instance`` of ``process``?"""
        return self.target in (instance, process)


def _duration(text: str, whole: str) -> float:
    from topolint.lint.units import parse_duration

    try:
        value = float(text) if re.fullmatch(r"\d+(\.\d*)?", text) else parse_duration(text)
    except ValueError as e:
        raise ScenarioError(f"--scenario {whole!r}: {e}") from None
    if not 0 <= value <= MAX_DELAY:
        raise ScenarioError(f"--scenario {whole!r}: delay must be between 0 and {MAX_DELAY:g} s")
    return value


def _fraction(text: str, whole: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ScenarioError(
            f"--scenario {whole!r}: expected a fraction like 0.5 or 50% after '@'"
        ) from None
    if not 0 <= value <= 1:
        raise ScenarioError(f"--scenario {whole!r}: the fraction must be between 0 and 1")
    return value


def parse_scenario(text: str) -> Scenario:
    """Parse one ``--scenario`` value; raises :class:`ScenarioError` with a usable message."""
    whole = text
    kind, eq, rest = text.strip().partition("=")
    kind = kind.strip()
    if not eq or kind not in KINDS or not rest.strip():
        raise ScenarioError(
            f"--scenario {whole!r}: expected stall=PROCESS, late-start=PROCESS:DELAY, "
            "kill=PROCESS@FRACTION or drop-end-of-data=PROCESS"
        )
    rest = rest.strip()
    if kind == "late-start":
        target, colon, delay = rest.rpartition(":")
        if not colon or not target:
            raise ScenarioError(f"--scenario {whole!r}: expected late-start=PROCESS:DELAY")
        sc = Scenario(kind, target.strip(), delay=_duration(delay.strip(), whole))
    elif kind == "kill":
        target, at, frac = rest.rpartition("@")
        if not at or not target:
            raise ScenarioError(f"--scenario {whole!r}: expected kill=PROCESS@FRACTION")
        sc = Scenario(kind, target.strip(), fraction=_fraction(frac.strip(), whole))
    else:
        sc = Scenario(kind, rest)
    if not _INSTANCE.match(sc.target):
        raise ScenarioError(f"--scenario {whole!r}: {sc.target!r} is not a process name")
    return sc


def parse_scenarios(texts: list[str]) -> list[Scenario]:
    """Parse every ``--scenario`` text (see :func:`parse_scenario`)."""
    return [parse_scenario(t) for t in texts]
