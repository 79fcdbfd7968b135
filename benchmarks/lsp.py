"""Responsiveness of ``topolint server``: time from an edit to its diagnostics.

Starts the real server over stdio, opens a topology (default: the talk's 90-process
``fixtures/talk/reconstruction.yaml``), then sends edits — full-text ``didChange`` of a
value that alternates, so every version is new text that has to be parsed and checked —
and measures, on the client, from writing the change to reading the diagnostics published
for that version.  A ``didSave`` of unchanged text is measured too (answered from the
last result: no re-parse).  Prints median, 95th percentile and worst case.

    python benchmarks/lsp.py [FILE] [--edits N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from topolint.lsp.client import LspClient  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(ROOT / "fixtures/talk/reconstruction.yaml"))
    ap.add_argument("--edits", type=int, default=40)
    args = ap.parse_args()
    path = Path(args.file).resolve()
    text = path.read_text()
    uri = path.as_uri()
    client = LspClient(cwd=path.parent)
    try:
        client.initialize(path.parent)
        t0 = time.perf_counter()
        client.open(uri, text)
        at, diags = client.diagnostics(uri)
        first = at - t0
        lines = text.split("\n")
        # an edit that changes the text but not the findings much: a comment's content
        edits = []
        for i in range(args.edits):
            version = i + 2
            edited = "\n".join([*lines, f"# edit {i}"])
            client_start = time.perf_counter()
            client.change(uri, version, edited)
            at, diags = client.diagnostics(uri, version)
            edits.append(at - client_start)
        saves = []
        for _ in range(10):
            s0 = time.perf_counter()
            client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            at, _ = client.diagnostics(uri)
            saves.append(at - s0)
    finally:
        client.close()
    ms = sorted(x * 1000 for x in edits)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    print(f"file: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"findings: {len(diags)}")
    print(f"open (first check, rules imported): {first * 1000:.0f} ms")
    print(
        f"edit -> diagnostics over {len(ms)} edits: median {statistics.median(ms):.0f} ms, "
        f"p95 {p95:.0f} ms, worst {ms[-1]:.0f} ms"
    )
    print(f"first 5 edits: {', '.join(f'{x * 1000:.0f}' for x in edits[:5])} ms")
    print(f"save of unchanged text: median {statistics.median(saves) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
