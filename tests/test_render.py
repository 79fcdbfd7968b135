"""``topolint render``: SVG, PNG, DOT and Mermaid for every talk example, and what they show."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pygraphviz
import pytest

from topolint.engine import Settings, load, loads, run_rules
from topolint.errors import UsageError
from topolint.render import (
    RED,
    build_diagram,
    render_file,
    render_topology,
    to_dot,
    to_mermaid,
)

from .conftest import FIXTURES, run_cli

TALK = sorted((FIXTURES / "talk").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _svg_texts(data: str | bytes) -> list[str]:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def _diagram(path: Path, findings: bool = True):
    topo = load(path, use_environ=False)
    found = run_rules(topo, Settings(use_environ=False)) if findings else []
    return topo, build_diagram(topo, found)


@pytest.mark.parametrize("path", TALK, ids=lambda p: p.stem)
def test_every_talk_example_renders_in_all_formats(path: Path, tmp_path: Path) -> None:
    topo = load(path, use_environ=False)
    for ext in ("svg", "png", "dot", "mmd"):
        out = tmp_path / f"{path.stem}.{ext}"
        render_file(path, out, findings=True, variables={})
        assert out.stat().st_size > 0, ext
    # DOT: Graphviz reads it back with one node per process (replicas collapsed)
    g = pygraphviz.AGraph(string=(tmp_path / f"{path.stem}.dot").read_text())
    assert g.graph_attr["rankdir"] == "LR"
    processes = {n for n in g.nodes() if n in topo.processes}
    assert processes == set(topo.processes)
    # SVG: well-formed, names every process
    texts = " ".join(_svg_texts((tmp_path / f"{path.stem}.svg").read_bytes()))
    for name in topo.processes:
        assert name in texts
    # PNG: a real image of some size
    width, height = _png_size((tmp_path / f"{path.stem}.png").read_bytes())
    assert width > 100 and height > 30
    # Mermaid: a left-to-right flowchart with one node per process
    mmd = (tmp_path / f"{path.stem}.mmd").read_text()
    assert "\nflowchart LR\n" in mmd
    for name in topo.processes:
        assert re.search(rf'\("{re.escape(name)}( ×\d+)?(<br/>|")', mmd) or re.search(
            rf'\[\["{re.escape(name)} ×\d+', mmd
        ), name


def test_replicas_collapse_to_one_node_and_edges_count_connections() -> None:
    _, d = _diagram(FIXTURES / "talk" / "pipeline-fanout.yaml", findings=False)
    assert set(d.nodes) == {"input", "a", "b", "c"}
    assert d.nodes["b"].title == "b ×3"
    edges = {(e.tail, e.head): e for e in d.edges}
    assert set(edges) == {("input", "a"), ("a", "b"), ("b", "c")}
    assert edges[("a", "b")].count == 3  # a.out -> b[0..2].in
    assert edges[("b", "c")].count == 3
    label = "\n".join(edges[("a", "b")].label(compact=False))
    assert "out→in" in label and "PUSH→PULL ×3" in label
    assert "hwm 10/10" in label  # sndhwm/rcvhwm from the file
    assert re.search(r"≤ \d+ msg \([\d.]+ [kMG]?B\) each", label), label  # the queue bound


def test_owners_become_clusters(tmp_path: Path) -> None:
    path = FIXTURES / "talk" / "prod01.yaml"
    topo = load(path, use_environ=False)
    g = pygraphviz.AGraph(string=to_dot(build_diagram(topo)))
    for owner in {p.owner for p in topo.processes.values()}:
        sub = g.get_subgraph(f"cluster_{owner}")
        assert sub is not None, owner
        members = {p.name for p in topo.processes.values() if p.owner == owner}
        assert set(sub.nodes()) == members
        assert sub.graph_attr["label"] == f"owner: {owner}"
    mmd = to_mermaid(build_diagram(topo))
    assert mmd.count("  subgraph ") == 2 and '"owner: tom"' in mmd


def test_findings_are_red_with_rule_names_and_can_be_left_out(tmp_path: Path) -> None:
    path = FIXTURES / "talk" / "pipeline-fanout.yaml"
    dot = tmp_path / "f.dot"
    render_file(path, dot, findings=True, variables={})
    g = pygraphviz.AGraph(string=dot.read_text())
    edge = g.get_edge("a", "b")
    assert edge.attr["color"] == RED
    assert "end-of-data-load-balanced" in edge.attr["label"]
    assert "load-balances" in edge.attr["tooltip"]  # the finding's message, for SVG hovers
    node = g.get_node("a")
    assert node.attr["color"] == RED and "no-end-timeout" in node.attr["label"]
    # The same in SVG and Mermaid
    svg = tmp_path / "f.svg"
    render_file(path, svg, findings=True, variables={})
    assert any("end-of-data-load-balanced" in t for t in _svg_texts(svg.read_bytes()))
    mmd = tmp_path / "f.mmd"
    render_file(path, mmd, findings=True, variables={})
    text = mmd.read_text()
    assert "⚠ end-of-data-load-balanced" in text
    assert re.search(r"linkStyle \d+(,\d+)* stroke:#d62728", text)
    # --no-findings: nothing red
    render_file(path, dot, findings=False, variables={})
    assert RED not in dot.read_text() and "⚠" not in dot.read_text()


def test_unresolved_peers_are_dashed() -> None:
    topo = load(FIXTURES / "unresolved-endpoint" / "bad.yaml", use_environ=False)
    d = build_diagram(topo, run_rules(topo, Settings(use_environ=False)))
    peers = [n for n in d.nodes.values() if n.kind == "unresolved"]
    assert {n.name for n in peers} == {"camra.out", "tcp://localhost:7999"}
    g = pygraphviz.AGraph(string=to_dot(d))
    for n in peers:
        assert "dashed" in g.get_node(n.id).attr["style"]
        edge = g.get_edge(n.id, "worker")
        assert "dashed" in edge.attr["style"]
        # unresolved-endpoint names the socket and the peer: it lands on the edge
        assert edge.attr["color"] == RED and "unresolved-endpoint" in edge.attr["label"]
    assert "-.->" in to_mermaid(d)


def test_request_reply_is_one_edge_with_arrows_both_ways() -> None:
    topo = loads(
        """
topolint: 1
name: rr
runs: continuous
processes:
  client:
    replicas: 2
    sockets:
      req: {type: req, connect: server.rep}
  server:
    sockets:
      rep: {type: rep, bind: "tcp://127.0.0.1:7000"}
""",
        "rr.yaml",
    )
    d = build_diagram(topo)
    assert len(d.edges) == 1
    e = d.edges[0]
    assert (e.tail, e.head, e.count, e.bidirectional) == ("client", "server", 2, True)
    assert 'dir="both"' in to_dot(d)
    assert "REQ↔REP ×2" in "\n".join(e.label(compact=False))
    assert "n0 <-->|" in to_mermaid(d)


def test_labels_are_escaped() -> None:
    topo = loads(
        """
topolint: 1
name: 'odd "names" #1'
runs: continuous
processes:
  a:
    owner: 'team "x" & <y>'
    sockets:
      out: {type: push, bind: "tcp://127.0.0.1:7000"}
  b:
    sockets:
      in: {type: pull, connect: a.out}
""",
        "odd.yaml",
    )
    d = build_diagram(topo)
    dot = to_dot(d)
    g = pygraphviz.AGraph(string=dot)
    assert g.graph_attr["label"] == 'odd "names" #1'
    assert g.get_subgraph("cluster_team__x_____y_").graph_attr["label"] == 'owner: team "x" & <y>'
    mmd = to_mermaid(d)
    assert 'title: "odd #quot;names#quot; #35;1"' in mmd  # a bare '#' starts an entity code
    assert '"owner: team #quot;x#quot; &amp; &lt;y&gt;"' in mmd


def test_a_90_process_job_stays_readable(tmp_path: Path) -> None:
    src = tmp_path / "big.yaml"
    src.write_text(big_topology())
    topo = load(src, use_environ=False)
    assert len(topo.processes) == 90
    d = build_diagram(topo, run_rules(topo, Settings(use_environ=False)))
    assert d.compact  # one-line edge labels
    labels = d.edge_labels()
    # 40 readouts fan into 4 builders: one labelled edge per builder, the rest bare
    into_builders = [
        lab for e, lab in zip(d.edges, labels, strict=True) if e.head.startswith("eb-")
    ]
    assert len(into_builders) == 40
    assert sum(1 for lab in into_builders if lab) == 4
    assert all("(10 alike)" in " ".join(lab) for lab in into_builders if lab)
    assert all(len(lab) <= 4 for lab in labels)
    g = pygraphviz.AGraph(string=to_dot(d))
    assert {s.name for s in g.subgraphs()} == {
        "cluster_daq",
        "cluster_reco",
        "cluster_qa",
        "cluster_storage",
    }
    png = render_topology(topo, "png")
    assert isinstance(png, bytes)
    width, height = _png_size(png)
    assert width < 6000 and height < 6000  # laid out left to right, not a 90-node line


def test_findings_without_a_drawn_subject() -> None:
    from topolint.findings import Finding, Severity

    topo = load(FIXTURES / "talk" / "pipeline.yaml", use_environ=False)

    def finding(rule: str, path: tuple[str, ...], severity: str = "warning") -> Finding:
        return Finding(rule, "TL999", Severity(severity), "m", topo.file, 7, 3, path=path)

    d = build_diagram(
        topo,
        [
            finding("on-a-socket", ("processes", "b", "sockets", "out", "sndhwm")),
            finding("on-a-message", ("messages", "image", "max_size"), "info"),
        ],
    )
    # no subject: the element the finding points at carries it
    assert [m.text for m in d.nodes["b"].marks] == ["⚠ on-a-socket (out)"]
    # nothing drawn: listed in a note
    assert d.notes == ["ℹ on-a-message (line 7, messages.image.max_size)"]
    g = pygraphviz.AGraph(string=to_dot(d))
    assert g.get_node("__notes__").attr["label"].startswith("findings not drawn on an element:")
    assert "notes>" in to_mermaid(d)


def test_unknown_extension_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.svg, \.png, \.dot"):
        render_file(
            FIXTURES / "talk" / "pipeline.yaml", tmp_path / "x.pdf", findings=True, variables={}
        )
    assert not (tmp_path / "x.pdf").exists()


def test_cli_render(tmp_path: Path) -> None:
    src = FIXTURES / "talk" / "pipeline-fanout.yaml"
    r = run_cli("render", str(src), "-o", str(tmp_path / "p.svg"))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    assert any("b ×3" in t for t in _svg_texts((tmp_path / "p.svg").read_bytes()))
    r = run_cli("render", str(src), "-o", str(tmp_path / "p.mmd"), "--no-findings")
    assert r.returncode == 0, r.stderr
    assert "⚠" not in (tmp_path / "p.mmd").read_text()
    r = run_cli("render", str(src), "-o", str(tmp_path / "p.jpeg"))
    assert r.returncode == 2
    assert "cannot render to 'p.jpeg'" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("render", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "m.svg"))
    assert r.returncode == 2 and "missing.yaml" in r.stderr


def big_topology(readouts: int = 40, builders: int = 4, monitors: int = 6) -> str:
    """A 90-process job in four owners: readouts → event builders → reconstruction chains
    (tracking with 8 replicas) → merger → writers, QA monitors subscribed to calibration."""
    out = [
        "topolint: 1",
        "name: reconstruction-90",
        "runs: continuous",
        "messages:",
        "  raw: {max_size: 1MB}",
        "  event: {max_size: 4MB}",
        "  histo: {max_size: 64kB}",
        "processes:",
    ]

    def proc(name: str, owner: str, sockets: dict[str, str], extra: str = "") -> None:
        out.extend([f"  {name}:", f"    owner: {owner}"])
        if extra:
            out.append(f"    {extra}")
        out.append("    sockets:")
        out.extend(f"      {s}: {{{spec}, linger: 0}}" for s, spec in sockets.items())

    for i in range(readouts):
        proc(
            f"readout-{i:02d}",
            "daq",
            {"out": f"type: push, connect: eb-{i % builders}.in, sends: raw"},
            "rate: 100/s",
        )
    for k in range(builders):
        tcp = "tcp://127.0.0.1"
        proc(
            f"eb-{k}",
            "daq",
            {
                "in": f"type: pull, bind: {tcp}:{7000 + k}, receives: raw",
                "out": f"type: push, bind: {tcp}:{7100 + k}, sends: event",
            },
            "service_time: 1ms",
        )
        proc(
            f"unpack-{k}",
            "reco",
            {
                "in": f"type: pull, connect: eb-{k}.out, receives: event",
                "out": f"type: push, bind: {tcp}:{7200 + k}, sends: event",
            },
            "service_time: 2ms",
        )
        proc(
            f"calib-{k}",
            "reco",
            {
                "in": f"type: pull, connect: unpack-{k}.out, receives: event",
                "out": f"type: push, bind: {tcp}:{7300 + k}, sends: event",
                "qa": f"type: pub, bind: {tcp}:{7400 + k}, sends: histo",
            },
            "service_time: 3ms",
        )
        proc(
            f"track-{k}",
            "reco",
            {
                "in": f"type: pull, connect: calib-{k}.out, receives: event",
                "out": f"type: push, connect: vertex-{k}.in, sends: event",
            },
            "replicas: 8",
        )
        proc(
            f"vertex-{k}",
            "reco",
            {
                "in": f"type: pull, bind: {tcp}:{7500 + k}, receives: event",
                "out": "type: push, connect: merger.in, sends: event",
            },
        )
        for m in range(monitors):
            proc(
                f"qa-{k}-{m}",
                "qa",
                {"in": f"type: sub, connect: calib-{k}.qa, subscribe: [''], receives: histo"},
            )
    proc(
        "merger",
        "reco",
        {
            "in": "type: pull, bind: tcp://127.0.0.1:7600, receives: event",
            "out": "type: push, bind: tcp://127.0.0.1:7601, sends: event",
        },
    )
    for w in range(4):
        proc(
            f"writer-{w}",
            "storage",
            {
                "in": "type: pull, connect: merger.out, receives: event",
                "cat": "type: push, connect: catalog.in",
            },
        )
    proc("catalog", "storage", {"in": "type: pull, bind: tcp://127.0.0.1:7700"})
    return "\n".join(out) + "\n"
