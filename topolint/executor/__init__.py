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
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

from topolint.textsafe import clean, clean_lines, defuse_json

if TYPE_CHECKING:
    from topolint.executor.plan import Limits, RunPlan, Settings
    from topolint.executor.scenarios import Scenario
    from topolint.executor.supervisor import RunResult
    from topolint.lint.model import Topology

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
    strict: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """Check, then run the topology at ``path`` for real; return (report, exit code).

    Parameters
    ----------
    path
        The topology file.
    scenarios, timeout, variables
        ``--scenario`` values, ``--timeout`` seconds and ``--var`` values.
    settings, limits
        Timing knobs and caps (:class:`~topolint.executor.plan.Settings`, ``Limits``).
    max_memory
        The whole process tree's memory budget: bytes or ``"2GiB"``.
    strict
        A finding the run could have judged but did not fails the run (exit 1).
    progress
        Called about 4 times a second with what the run is doing."""
    from topolint.executor.outcome import parse_budget, withhold
    from topolint.executor.plan import Limits
    from topolint.executor.report import build_report
    from topolint.executor.verdicts import judge
    from topolint.lint.engine import Settings as CheckSettings
    from topolint.lint.engine import load, run_rules

    parsed = _parse_request(scenarios, timeout)
    budget = parse_budget(max_memory)
    if budget is not None:
        limits = limits or Limits()
        limits.max_memory = budget
    variables = dict(variables or {})
    topo = load(os.fspath(path), variables)
    findings = run_rules(topo, CheckSettings(variables=variables))
    plan, result = _plan_and_execute(topo, parsed, timeout, settings, limits, progress)
    report = build_report(result)
    report["memory_limits"] = {
        name: p.memory_limit for name, p in topo.processes.items() if p.memory_limit
    }
    verdicts, not_exercised = judge(findings, report, plan)
    verdicts, not_exercised = withhold(report, plan, verdicts, not_exercised)
    report["file"] = topo.file
    report["verdicts"] = verdicts
    report["not_exercised"] = not_exercised
    code = _exit_code(report, interrupted=result.interrupted, strict=strict)
    report["strict"] = strict
    report["exit_code"] = code
    return report, code


def _plan_and_execute(
    topo: Topology,
    parsed: list[Scenario],
    timeout: float,
    settings: Settings | None,
    limits: Limits | None,
    progress: Callable[[dict[str, Any]], None] | None,
) -> tuple[RunPlan, RunResult]:
    """Build the plan and run it; a plan that cannot run raises
    :class:`~topolint.errors.UsageError`."""
    from topolint.errors import UsageError
    from topolint.executor.build import build_plan
    from topolint.executor.resources import ResourceError
    from topolint.executor.scenarios import ScenarioError
    from topolint.executor.supervisor import PlanError, execute
    from topolint.lint.graph import build_graph

    try:
        plan = build_plan(
            topo, build_graph(topo), parsed, timeout=timeout, settings=settings, limits=limits
        )
        return plan, execute(plan, progress)
    except (ScenarioError, PlanError, ResourceError) as e:
        raise UsageError(str(e)) from None


def _parse_request(scenarios: Sequence[str], timeout: float) -> list[Scenario]:
    """The parsed ``--scenario`` values; a bad one, or a timeout outside (0, 24 h], raises
    :class:`~topolint.errors.UsageError`."""
    from topolint.errors import UsageError
    from topolint.executor.scenarios import ScenarioError, parse_scenarios

    try:
        parsed = parse_scenarios(list(scenarios))
    except ScenarioError as e:
        raise UsageError(str(e)) from None
    if not 0 < timeout <= 24 * 3600:
        raise UsageError(f"--timeout {timeout:g}: expected a number of seconds in (0, 86400]")
    return parsed


def _exit_code(report: dict[str, Any], *, interrupted: bool, strict: bool) -> int:
    """130 interrupted, 2 incomplete, 1 a violation or a confirmed prediction (or, with
    ``strict``, a finding the run could have judged and did not), else 0."""
    from topolint.executor.outcome import EXIT_INCOMPLETE
    from topolint.executor.verdicts import CONFIRMED

    if interrupted:
        return EXIT_INTERRUPTED
    if report["incomplete"]:
        return EXIT_INCOMPLETE
    if (
        report["model_violations"]
        or any(v["status"] == CONFIRMED for v in report["verdicts"])
        or (strict and any(f["exercisable"] for f in report["not_exercised_findings"]))
    ):
        return 1
    return 0


def run(
    path: str | PathLike[str],
    *,
    scenarios: Sequence[str] = (),
    timeout: float = 30.0,
    variables: Mapping[str, str] | None = None,
    fmt: str = "text",
    max_memory: int | str | None = None,
    strict: bool = False,
    progress: bool | None = None,
) -> tuple[str, int]:
    """``topolint run``: the rendered report (``fmt`` = ``text`` or ``json``) and exit code.

    Model violations and why a run is incomplete are also written to stderr, loudly,
    whatever the format.  ``progress`` (None = automatic: on a terminal, or under CI)
    writes what the run is doing to stderr: a live line on a terminal, a line every
    few seconds otherwise.
    """
    printer = Progress.auto(progress)
    try:
        report, code = run_report(
            path,
            scenarios=scenarios,
            timeout=timeout,
            variables=variables,
            max_memory=max_memory,
            strict=strict,
            progress=printer,
        )
    finally:
        if printer is not None:
            printer.close()
    for f in report["failures"]:
        print(f"topolint: RUN INCOMPLETE: {clean(f)}", file=sys.stderr)
    for v in report["model_violations"]:
        print(f"topolint: {clean(v['message'])}", file=sys.stderr)
    if fmt == "json":
        return defuse_json(json.dumps(report, indent=2, default=str)) + "\n", code
    return render_text(report), code


class Progress:
    """What the run is doing, on stderr: one line rewritten in place on a terminal; on
    anything else (a CI log) a new line every ``every`` seconds."""

    def __init__(self, live: bool, every: float = 5.0) -> None:
        self.live = live
        self.every = every
        self.last = -1e9
        self.shown = False

    @classmethod
    def auto(cls, wanted: bool | None) -> Progress | None:
        """The progress display ``--progress``/``--no-progress`` asks for: ``wanted`` None
        means on for a terminal (one live line) and under CI (a line every 5 s)."""
        tty = sys.stderr.isatty()
        if wanted is False or (wanted is None and not tty and not os.environ.get("CI")):
            return None
        return cls(live=tty)

    def __call__(self, info: dict[str, Any]) -> None:
        if not self.live and info["elapsed"] - self.last < self.every:
            return
        self.last = info["elapsed"]
        line = (
            f"topolint run: {info['stage']} {info['elapsed']:.0f}/{info['timeout']:g} s, "
            f"{info['up']} of {info['instances']} instances up ({info['ended']} ended, "
            f"{info['processes']} OS processes), {info['sent']:,} messages sent, "
            f"{info['received']:,} received"
        )
        if self.live:
            sys.stderr.write("\r\x1b[K" + line)
            self.shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        """Clear the live line, if one was shown."""
        if self.live and self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _num(x: Any) -> str:
    return "-" if x is None else str(x)


def _head_lines(report: dict[str, Any]) -> list[str]:
    """Violations and failures first, a timed-out run's first line, then what ran where."""
    out: list[str] = []
    for v in report["model_violations"]:
        out.append(f"!!! {v['message']}")
    for f in report.get("failures", []):
        out.append(f"!!! RUN INCOMPLETE: {f}")
    if out:
        out.append("")
    env = report["environment"]
    unfinished = report.get("sources_unfinished") or []
    if unfinished:
        first = unfinished[0]
        out.insert(
            0,
            f"TIMED OUT before the sources finished: {first['name']} emitted "
            f"{first['emitted']} of {first['count']} messages"
            + (f" (and {len(unfinished) - 1} more sources)" if len(unfinished) > 1 else "")
            + f" in {report['timeout_s']:g} s; raise --timeout or lower the sources' count "
            "(end-of-data and ending rules could not be judged)",
        )
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
    return out


def _connection_table(report: dict[str, Any]) -> list[str]:
    """The connections as an aligned table of message counts."""
    out = ["connections (messages):"]
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
    return out


def _outcome_lines(report: dict[str, Any]) -> list[str]:
    """Sinks and their end-of-data, joins, throughput and latency, crashed processes."""
    out: list[str] = []
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
    return out


def _verdict_lines(report: dict[str, Any]) -> list[str]:
    """The verdicts, those withheld, and the findings not exercised (with reasons)."""
    out: list[str] = []
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
    reasons = [f for f in report.get("not_exercised_findings", []) if f["exercisable"]]
    if reasons:
        out.append("not exercised (a verdict was possible, this run gave none):")
        for f in reasons:
            out.append(f"  {f['rule']} ({f['subject']}): {f['reason']}")
    if report.get("not_exercised"):
        out.append(f"not exercised: {', '.join(report['not_exercised'])}")
    return out


def _footer_lines(report: dict[str, Any]) -> list[str]:
    """Message counts that differ from the declaration, hosting, and the notes."""
    out: list[str] = []
    counts = report.get("message_counts") or {}
    changed = {k: v for k, v in counts.items() if v.get("run") != v.get("declared")}
    if changed:
        name, c = next(iter(changed.items()))
        out.append(
            f"message counts: {name} ran {c['run']} messages (declared "
            f"{c['declared'] if c['declared'] is not None else 'none'}; {c['why']})"
            + (f", and {len(changed) - 1} more sources likewise" if len(changed) > 1 else "")
        )
    hosting = report.get("hosting") or {}
    if hosting.get("instances", 0) > hosting.get("os_processes", 0) > 0:
        out.append(
            f"hosting: {hosting['instances']} instances in {hosting['os_processes']} OS processes"
        )
    for n in report["notes"]:
        out.append(f"note: {n}")
    return out


def render_text(report: dict[str, Any]) -> str:
    """A human summary of a run report (names from the file are cleaned)."""
    out = _head_lines(report)
    out.append("")
    out += _connection_table(report)
    out += _outcome_lines(report)
    out.append("")
    out += _verdict_lines(report)
    out += _footer_lines(report)
    return clean_lines(out)
