#!/usr/bin/env python3
"""Where the time of one ``check`` goes: CPU seconds per phase and per rule, in-process.

    python benchmarks/phases.py FILE [--repeat 3] [--top 12]

Phases: reading the file, the parser's depth pre-scan, composing and building the document,
the schema pre-check, the model, the wiring, each rule (the first rule that asks for the
shared analysis pays for it), and the text report.  The garbage collector is paused as
``check`` pauses it.  Each figure is the minimum over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from topolint.lint import loader, schema
from topolint.lint.context import Context
from topolint.lint.engine import Settings, catalogue, gc_paused, run_rules
from topolint.lint.graph import build_graph
from topolint.lint.model import build_topology


def timed(out: dict[str, list[float]], name: str, fn: Callable[[], Any]) -> Any:
    start = time.process_time()
    result = fn()
    out[name].append(time.process_time() - start)
    return result


def once(path: Path, out: dict[str, list[float]]) -> None:
    with gc_paused():
        text = timed(out, "read", lambda: loader.read_text(path, str(path)))
        timed(out, "depth pre-scan (parser events)", lambda: loader._check_depth(text, str(path)))
        doc = timed(
            out, "load (compose + build, incl. pre-scan)", lambda: loader.load_text(text, str(path))
        )
        timed(out, "schema pre-check", lambda: schema.validate(doc))
        topo = timed(out, "model", lambda: build_topology(doc, use_environ=False))
        wiring = timed(out, "wiring", lambda: build_graph(topo))
        ctx = Context(topo, wiring)
        for rule in catalogue():
            ctx.options = dict(rule.options)
            start = time.process_time()
            for _ in rule.check(ctx):
                pass
            out[f"rule {rule.code} {rule.name}"].append(time.process_time() - start)
        findings = timed(out, "run_rules (all, with stamping)", lambda: run_rules(topo, Settings()))
        from topolint.reporters import Report, render

        report = Report(
            findings=findings,
            rules=list(catalogue()),
            files=[topo.file],
            sources={topo.file: doc.text},
            root=Path.cwd(),
            tool_version="bench",
        )
        timed(out, "text report", lambda: render("text", report))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("file", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=12, help="rules shown (the slowest)")
    args = ap.parse_args(argv)
    catalogue()  # imports are not a phase
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.repeat):
        once(args.file, out)
    best = {k: min(v) for k, v in out.items()}
    rules = sorted(((v, k) for k, v in best.items() if k.startswith("rule ")), reverse=True)
    print(f"| phase ({args.file.name}) | CPU s (min of {args.repeat}) |\n| --- | ---: |")
    for k, v in best.items():
        if not k.startswith("rule "):
            print(f"| {k} | {v:.3f} |")
    print(f"| rules, sum of {len(rules)} | {sum(v for v, _ in rules):.3f} |")
    for v, k in rules[: args.top]:
        print(f"| &nbsp;&nbsp;{k[5:]} | {v:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
