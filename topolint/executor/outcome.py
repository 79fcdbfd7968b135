"""Which verdicts a run may pass, and its exit code, when part of it failed.

A child that died abnormally (a signal, an exception, a nonzero exit), a run folder that
vanished, or a memory budget that stopped the run leave observations without ground: a
sink "without end-of-data" may only be downstream of a crashed worker, a "dropped" message
may be one a dead receiver never read.  So a verdict stands only if no instance of its
subject shares a connected part of the topology (through any connection, either way) with
a child that died (a verdict whose subject names no instance is withheld too); a run-level
failure withholds every verdict.  Withheld verdicts are
listed under ``withheld_verdicts`` and their rules under ``not_exercised``, and such a run
exits :data:`EXIT_INCOMPLETE`, never 0.
"""

from __future__ import annotations

from typing import Any

from topolint.executor.plan import RunPlan

#: Exit code of a run that could not be carried out in full.
EXIT_INCOMPLETE = 2


def _tainted(report: dict[str, Any], plan: RunPlan) -> set[str]:
    dead = {p["name"] for p in report["processes"] if p.get("cause")}
    if len(dead) < len(report["failures"]):  # a run-level failure: nothing stands
        return {i.name for i in plan.instances}
    adj: dict[str, set[str]] = {i.name: set() for i in plan.instances}
    for c in plan.connections:
        a, b = c.sender.rpartition(".")[0], c.receiver.rpartition(".")[0]
        if a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    tainted, todo = set(dead), list(dead)
    while todo:
        for n in adj.get(todo.pop(), ()):
            if n not in tainted:
                tainted.add(n)
                todo.append(n)
    return tainted


def withhold(
    report: dict[str, Any], plan: RunPlan, verdicts: list[dict[str, Any]], not_exercised: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """(verdicts that stand, rules not exercised); records ``withheld_verdicts``."""
    from topolint.executor.verdicts import process_of

    report["withheld_verdicts"] = []
    if not report["failures"]:
        return verdicts, not_exercised
    tainted = _tainted(report, plan)
    procs = {i.process or i.name for i in plan.instances if i.name in tainted}
    known = {i.name for i in plan.instances} | {i.process or i.name for i in plan.instances}
    kept: list[dict[str, Any]] = []
    for v in verdicts:
        parts = [x.strip() for x in str(v["subject"]).split(",")]
        instances = {x.split(".")[0] for x in parts}
        processes = {process_of(x).split(".")[0] for x in parts}
        named = (instances | processes) & known
        if not named or instances & tainted or processes & procs:
            report["withheld_verdicts"].append(
                {"rule": v["rule"], "subject": v["subject"], "would_have_been": v["status"]}
            )
        else:
            kept.append(v)
    rules = {v["rule"] for v in report["withheld_verdicts"]}
    return kept, sorted(set(not_exercised) | rules)


def parse_budget(value: int | str | None) -> int | None:
    """``--max-memory``: bytes or a size like ``512MiB``; at least 1 MiB."""
    from topolint.errors import UsageError
    from topolint.lint.units import parse_size

    if value is None:
        return None
    try:
        n = parse_size(value)
    except ValueError as e:
        raise UsageError(f"--max-memory: {e}") from None
    if n < 1 << 20:
        raise UsageError(f"--max-memory {value}: expected at least 1 MiB (e.g. 512MiB, 4GiB)")
    return n
