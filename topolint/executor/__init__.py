"""The reference executor behind ``topolint run`` (SPEC §5).

>>> text, code = run("topology.yaml", scenarios=["stall=puller"], timeout=30,
...                  variables={}, fmt="json")                     # doctest: +SKIP

:func:`run_report` returns the report as a dict; :func:`run` renders it (``text`` or
``json``) for the command line.  Exit codes: 0 nothing confirmed; 1 a prediction was
confirmed or the model was violated; 2 the run is incomplete (a child died abnormally,
the run's folder vanished, the memory budget stopped it: see ``failures`` and
:mod:`~topolint.executor.outcome`); 130 interrupted (Ctrl-C).  Input and usage errors, and
runs this machine cannot hold (open files, memory budget, disk space, an unsafe temporary
folder), raise :class:`~topolint.errors.InputError` / :class:`~topolint.errors.UsageError`
(exit 2).

The package imports lazily: a child process (``child.py``) loads only pyzmq.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

from topolint.textsafe import clean, clean_lines, defuse_json

if TYPE_CHECKING:
    from topolint.executor.plan import Limits, Settings

__all__ = ["run", "run_report"]

EXIT_INTERRUPTED = 130


def run_report(
    path: str | PathLike[str],
    *,
    scenarios: Sequence[str] = (),
    timeout: float = 30.0,
    variables: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    limits: Limits | None = None,
    max_memory: int | str | None = None,
) -> tuple[dict[str, Any], int]:
    """Check, then run the topology at ``path`` for real; return (report, exit code).

    ``max_memory`` (bytes or ``"2GiB"``) is the whole process tree's memory budget."""
    from topolint.engine import Settings as CheckSettings
    from topolint.engine import load, run_rules
    from topolint.errors import UsageError
    from topolint.executor.build import build_plan
    from topolint.executor.outcome import EXIT_INCOMPLETE, parse_budget, withhold
    from topolint.executor.plan import Limits
    from topolint.executor.report import build_report
    from topolint.executor.resources import ResourceError
    from topolint.executor.scenarios import ScenarioError, parse_scenarios
    from topolint.executor.supervisor import PlanError, execute
    from topolint.executor.verdicts import CONFIRMED, judge
    from topolint.graph import build_graph

    try:
        parsed = parse_scenarios(list(scenarios))
    except ScenarioError as e:
        raise UsageError(str(e)) from None
    if not 0 < timeout <= 24 * 3600:
        raise UsageError(f"--timeout {timeout:g}: expected a number of seconds in (0, 86400]")
    budget = parse_budget(max_memory)
    if budget is not None:
        limits = limits or Limits()
        limits.max_memory = budget
    variables = dict(variables or {})
    topo = load(os.fspath(path), variables)
    findings = run_rules(topo, CheckSettings(variables=variables))
    try:
        plan = build_plan(
            topo, build_graph(topo), parsed, timeout=timeout, settings=settings, limits=limits
        )
        result = execute(plan)
    except (ScenarioError, PlanError, ResourceError) as e:
        raise UsageError(str(e)) from None
    report = build_report(result)
    report["memory_limits"] = {
        name: p.memory_limit for name, p in topo.processes.items() if p.memory_limit
    }
    verdicts, not_exercised = judge(findings, report, plan)
    verdicts, not_exercised = withhold(report, plan, verdicts, not_exercised)
    report["file"] = topo.file
    report["verdicts"] = verdicts
    report["not_exercised"] = not_exercised
    if result.interrupted:
        code = EXIT_INTERRUPTED
    elif report["incomplete"]:
        code = EXIT_INCOMPLETE
    elif report["model_violations"] or any(v["status"] == CONFIRMED for v in verdicts):
        code = 1
    else:
        code = 0
    report["exit_code"] = code
    return report, code


def run(
    path: str | PathLike[str],
    *,
    scenarios: Sequence[str] = (),
    timeout: float = 30.0,
    variables: Mapping[str, str] | None = None,
    fmt: str = "text",
    max_memory: int | str | None = None,
) -> tuple[str, int]:
    """``topolint run``: the rendered report (``fmt`` = ``text`` or ``json``) and exit code.

    Model violations and why a run is incomplete are also written to stderr, loudly,
    whatever the format.
    """
    report, code = run_report(
        path, scenarios=scenarios, timeout=timeout, variables=variables, max_memory=max_memory
    )
    for f in report["failures"]:
        print(f"topolint: RUN INCOMPLETE: {clean(f)}", file=sys.stderr)
    for v in report["model_violations"]:
        print(f"topolint: {clean(v['message'])}", file=sys.stderr)
    if fmt == "json":
        return defuse_json(json.dumps(report, indent=2, default=str)) + "\n", code
    return render_text(report), code


def _num(x: Any) -> str:
    return "-" if x is None else str(x)


def render_text(report: dict[str, Any]) -> str:
    """A human summary of a run report."""
    out: list[str] = []
    for v in report["model_violations"]:
        out.append(f"!!! {v['message']}")
    for f in report.get("failures", []):
        out.append(f"!!! RUN INCOMPLETE: {f}")
    if out:
        out.append("")
    env = report["environment"]
    out.append(
        f"run {report['topology']} ({report.get('file', '')}): "
        f"{'terminated' if report['terminated'] else 'did not terminate'} "
        f"after {report['duration_s']:.2f} s ({report['stop_reason']})"
    )
    if report["scenarios"]:
        out.append(f"scenarios: {', '.join(report['scenarios'])}")
    out.append(
        f"kernel {env['kernel']}, pyzmq {env['pyzmq']} (libzmq {env['libzmq']}), net "
        + ", ".join(f"{k}={v}" for k, v in env["net"].items())
    )
    out.append("")
    out.append("connections (messages):")
    header = ("sender", "receiver", "sent", "received", "lost", "max queued", "bound")
    rows = [header] + [
        (
            c["sender"],
            c["receiver"],
            _num(c["sent"]),
            _num(c["received"]),
            _num(c["lost"]),
            _num(c["observed_max_queued"]),
            _num(c["predicted_bound_messages"]),
        )
        for c in report["connections"]
    ]
    rows = [tuple(clean(x) for x in r) for r in rows]  # names from the file, never raw
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        out.append("  " + "  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip())
    if report["sinks"]:
        out.append("")
        out.append("sinks:")
        for s in report["sinks"]:
            eod = "end-of-data received" if s["end_of_data_received"] else "NO end-of-data"
            if s["end_of_data_timed_out"]:
                eod += " (gave up after its timeout)"
            out.append(f"  {s['name']}: {s['messages']} messages, {eod}")
    for j in report["joins"]:
        out.append(
            f"join {j['name']} ({j['match']}): {j['matches']} matched, {j['timeouts']} timed out, "
            f"{j['mismatches']} mismatched, {j['pending_at_end']} pending at the end"
        )
    thr, lat = report["throughput"], report["latency"]
    if thr["messages_per_second"]:
        out.append(
            f"throughput {thr['messages_per_second']:.0f} msg/s at the sinks; latency mean "
            f"{(lat['mean_s'] or 0) * 1000:.2f} ms, max {(lat['max_s'] or 0) * 1000:.2f} ms"
        )
    bad = [p for p in report["processes"] if p["state"] in ("crashed",)]
    for p in bad:
        out.append(f"process {p['name']} crashed: {p.get('cause') or p.get('error')}")
    out.append("")
    if report["verdicts"]:
        out.append("verdicts:")
        for v in report["verdicts"]:
            out.append(f"  {v['status']:<14} {v['rule']} ({v['subject']}): {v['evidence']}")
    elif report.get("withheld_verdicts"):
        out.append("verdicts: none stand (see withheld)")
    else:
        out.append("verdicts: none of the static findings can be exercised by this run")
    if report.get("withheld_verdicts"):
        out.append(
            "withheld, as a child died or the run was cut short: "
            + ", ".join(f"{v['rule']} ({v['subject']})" for v in report["withheld_verdicts"])
        )
    if report.get("not_exercised"):
        out.append(f"not exercised: {', '.join(report['not_exercised'])}")
    for n in report["notes"]:
        out.append(f"note: {n}")
    return clean_lines(out)
