"""``topolint render``: SVG, PNG, DOT and Mermaid for every talk example, and what they show."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pygraphviz
import pytest

from topolint.commands.render import (
    BLUE,
    ORANGE,
    RED,
    build_diagram,
    render_file,
    render_topology,
    to_dot,
    to_mermaid,
)
from topolint.errors import UsageError
from topolint.lint.engine import Settings, load, loads, run_rules

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


def _diagram(path: Path, findings: bool = True, merge: bool | None = None):
    topo = load(path, use_environ=False)
    found = run_rules(topo, Settings(use_environ=False)) if findings else []
    return topo, build_diagram(topo, found, merge=merge)


def _members(d) -> set[str]:
    """Every process drawn: a box's own name or the processes merged into it."""
    return {m for n in d.nodes.values() if n.kind == "process" for m in (n.members or [n.id])}


@pytest.mark.parametrize("path", TALK, ids=lambda p: p.stem)
def test_every_talk_example_renders_in_all_formats(path: Path, tmp_path: Path) -> None:
    topo = load(path, use_environ=False)
    for ext in ("svg", "png", "dot", "mmd"):
        out = tmp_path / f"{path.stem}.{ext}"
        render_file(path, out, findings=True, variables={})
        assert out.stat().st_size > 0, ext
    # DOT: Graphviz reads it back with one node per process (replicas collapsed), or, on a
    # large topology, per group of similar processes merged
    _, d = _diagram(path, findings=False)
    assert _members(d) == set(topo.processes)
    g = pygraphviz.AGraph(string=(tmp_path / f"{path.stem}.dot").read_text())
    assert g.graph_attr["rankdir"] == "LR"
    assert {n for n in g.nodes() if not n.startswith("__")} == set(d.nodes)
    assert "legend" in g.get_node("__legend__").attr["label"]
    # SVG: well-formed, names every box
    texts = " ".join(_svg_texts((tmp_path / f"{path.stem}.svg").read_bytes()))
    for n in d.nodes.values():
        assert (n.members or [n.name])[0] in texts
    # PNG: a real image of some size
    width, height = _png_size((tmp_path / f"{path.stem}.png").read_bytes())
    assert width > 100 and height > 30
    # Mermaid: a left-to-right flowchart with one node per process
    mmd = (tmp_path / f"{path.stem}.mmd").read_text()
    assert "\nflowchart LR\n" in mmd and "  legend>" in mmd
    for n in d.nodes.values():
        if n.kind != "process":
            continue
        name = (n.members or [n.name])[0]
        assert re.search(rf'\("{re.escape(name)}( ×\d+)?(<br/>|")', mmd) or re.search(
            rf'\[\["{re.escape(name)}( ×\d+| …)', mmd
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
    assert edge.attr["color"] == RED  # an error
    assert "✖ end-of-data-load-balanced" in edge.attr["label"]
    assert "load-balances" in edge.attr["tooltip"]  # the finding's message, for SVG hovers
    node = g.get_node("a")
    assert node.attr["color"] == ORANGE and "⚠ no-end-timeout" in node.attr["label"]  # a warning
    # The same in SVG and Mermaid
    svg = tmp_path / "f.svg"
    render_file(path, svg, findings=True, variables={})
    assert any("end-of-data-load-balanced" in t for t in _svg_texts(svg.read_bytes()))
    mmd = tmp_path / "f.mmd"
    render_file(path, mmd, findings=True, variables={})
    text = mmd.read_text()
    assert "✖ end-of-data-load-balanced" in text
    assert re.search(r"linkStyle \d+(,\d+)* stroke:#d62728", text)
    # --no-findings: no finding drawn (the legend still explains the colours)
    render_file(path, dot, findings=False, variables={})
    g = pygraphviz.AGraph(string=dot.read_text())
    drawn = [x.attr.get("color") for x in [*g.nodes(), *g.edges()] if x != "__legend__"]
    assert not {RED, ORANGE, BLUE} & set(drawn)
    assert "⚠ no-end-timeout" not in dot.read_text()


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
    found = run_rules(topo, Settings(use_environ=False))
    # unmerged (merge=False): one-line labels, fan-ins labelled once
    d = build_diagram(topo, found, merge=False)
    assert d.compact
    labels = d.edge_labels()
    into_builders = [
        lab for e, lab in zip(d.edges, labels, strict=True) if e.head.startswith("eb-")
    ]
    assert len(into_builders) == 40
    assert sum(1 for lab in into_builders if lab) == 4
    assert all("(10 alike)" in " ".join(lab) for lab in into_builders if lab)
    assert all(len(lab) <= 4 for lab in labels)
    # by default numbered siblings of one shape are merged: 90 processes, 12 boxes
    d = build_diagram(topo, found)
    assert _members(d) == set(topo.processes)
    assert len(d.nodes) <= 12
    readouts = d.nodes["readout-#"]
    assert readouts.members[0] == "readout-00" and readouts.members[-1] == "readout-39"
    assert readouts.title == "readout-00 … readout-39\n40 processes"
    assert d.nodes["track-#"].title == "track-0 … track-3\n4 processes ×8 each"
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
    assert width < 6000 and height < 3000  # laid out left to right, not a 90-node line


def test_merged_edges_carry_their_counts() -> None:
    topo, d = _diagram(FIXTURES / "talk" / "reconstruction.yaml")
    assert sum(p.replicas for p in topo.processes.values()) == 89  # instances
    assert len(topo.processes) == 50 and len(d.nodes) <= 12
    edges = {(e.tail, e.head, e.sender_socket): e for e in d.edges}
    # 13 readouts, each pushing to its 4 clusterer replicas: one edge, 52 connections
    e = edges[("readout#", "cluster#", "out")]
    assert (e.count, e.merged) == (52, 13)
    label = "\n".join(e.label(d.compact))
    assert "PUSH→PULL ×52 (13 pairs)" in label
    # a finding on every one of the 13 pairs: one mark, counted
    assert [m.text for m in e.marks] == ["✖ end-of-data-load-balanced ×13"]
    # the clusterers' 52 instances ask conditions: REQ↔ROUTER, both ways
    cond = edges[("cluster#", "conditions", "cond")]
    assert cond.count == 52 and cond.bidirectional
    dot = to_dot(d)
    assert "out→in · PUSH→PULL ×52 (13 pairs)" in dot
    assert '"merged: cluster0, cluster1, cluster2' in dot  # the members, as a tooltip
    # the owners det0-team … det12-team become one cluster
    assert "owner: det0-team … det12-team" in dot
    # merge=False draws every process
    _, full = _diagram(FIXTURES / "talk" / "reconstruction.yaml", merge=False)
    assert set(full.nodes) == set(topo.processes)


def test_legend_and_distinct_severity_styles() -> None:
    from topolint.lint.findings import Finding, Severity

    topo = load(FIXTURES / "talk" / "pipeline.yaml", use_environ=False)

    def finding(rule: str, process: str, severity: str) -> Finding:
        return Finding(rule, "TL999", Severity(severity), "m", topo.file, 7, 3, subject=(process,))

    found = [finding("e-rule", "a", "error"), finding("w-rule", "b", "warning")]
    found.append(finding("i-rule", "c", "info"))
    g = pygraphviz.AGraph(string=to_dot(build_diagram(topo, found)))
    styles = {
        name: (g.get_node(name).attr["color"], g.get_node(name).attr["penwidth"])
        for name in ("a", "b", "c")
    }
    assert len(set(styles.values())) == 3  # colour and width differ per severity
    assert styles["a"][0] == RED and styles["b"][0] == ORANGE and styles["c"][0] == BLUE
    assert "✖ e-rule" in g.get_node("a").attr["label"]
    assert "⚠ w-rule" in g.get_node("b").attr["label"]
    assert "ℹ i-rule" in g.get_node("c").attr["label"]
    legend = g.get_node("__legend__").attr["label"]
    for word in ("legend", "error", "warning", "info", "replicas", "unresolved", "queue bound"):
        assert word in legend, word
    assert RED in legend and ORANGE in legend and BLUE in legend
    mmd = to_mermaid(build_diagram(topo, found))
    assert "  legend>" in mmd
    for cls in ("error", "warning", "info"):
        assert f"  classDef {cls} " in mmd


def test_infos_are_hidden_unless_asked_for() -> None:
    topo = load(FIXTURES / "talk" / "pipeline-fanout.yaml", use_environ=False)
    found = run_rules(topo, Settings(use_environ=False))
    infos = [f for f in found if f.severity.value == "info"]
    assert infos  # the example has some
    dot = render_topology(topo, "dot", found)
    assert isinstance(dot, str)
    assert not re.search(r"ℹ [a-z]+(-[a-z]+)+", dot)
    assert f"{len(infos)} hidden: --show-info" in dot
    shown = render_topology(topo, "dot", found, show_info=True)
    assert isinstance(shown, str)
    assert f"ℹ {infos[0].rule}" in shown and BLUE in shown


def test_rendering_is_stable_and_clusters_sorted(tmp_path: Path) -> None:
    for name in ("reconstruction.yaml", "prod01.yaml"):
        path = FIXTURES / "talk" / name
        first, second = tmp_path / "1.dot", tmp_path / "2.dot"
        render_file(path, first, findings=True, variables={})
        render_file(path, second, findings=True, variables={})
        assert first.read_text() == second.read_text()
        labels = re.findall(r'label="owner: ([^"]+)"', first.read_text())
        assert labels == sorted(labels) and len(labels) >= 2
    # declared in reverse order: still drawn in sorted order
    topo = loads(
        """
topolint: 1
name: order
runs: continuous
processes:
  z: {owner: zeta, sockets: {out: {type: push, bind: "tcp://127.0.0.1:7000"}}}
  a: {owner: alpha, sockets: {in: {type: pull, connect: z.out}}}
  m: {sockets: {in: {type: pull, connect: z.out}}}
""",
        "order.yaml",
    )
    dot = to_dot(build_diagram(topo))
    assert dot.index("cluster_alpha") < dot.index("cluster_zeta")


def test_findings_without_a_drawn_subject() -> None:
    from topolint.lint.findings import Finding, Severity

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
    assert "⚠ no-end-timeout" not in (tmp_path / "p.mmd").read_text()
    r = run_cli("render", str(src), "-o", str(tmp_path / "i.dot"), "--show-info")
    assert r.returncode == 0, r.stderr
    assert re.search(r"ℹ [a-z]+(-[a-z]+)+", (tmp_path / "i.dot").read_text())  # infos drawn
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
