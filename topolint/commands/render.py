"""``topolint render``: draw a topology as SVG, PNG, Graphviz DOT or Mermaid.

One picture for a design review: processes are boxes (replicas drawn once, as
``worker ×3``), grouped in a cluster per owner (clusters sorted by owner); every edge is one
socket pair, labelled with its socket names, socket types, high-water marks and worst-case
queue bound (from :mod:`topolint.analysis.performance`).  Instance-level connections collapse to one
edge with a count.  Unresolved peers are dashed, end-of-data-only control connections
dotted.  Findings carry their rule names on the element they concern, in one style per
severity (errors red and thick with ✖, warnings orange with ⚠, infos blue and thin with ℹ;
infos are left out unless asked for); a legend explains it all.  Findings that name no
drawn element are listed in a note.

On a large topology (more than :data:`COMPACT_ABOVE` processes) numbered siblings of the
same shape (``readout0`` … ``readout12``: the same sockets, replicas and message types) are
merged into one box with their count, and parallel edges between two boxes into one edge
whose label counts the connections, so a 90-process job reads at a glance.

DOT and Mermaid text are written without Graphviz; SVG and PNG are laid out by Graphviz
through pygraphviz (its wheel bundles Graphviz), imported only when needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from topolint.errors import UsageError
from topolint.lint.findings import Finding, Severity
from topolint.lint.graph import Connection, TopologyGraph, build_graph
from topolint.lint.model import Topology

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
RED = "#d62728"  # errors
ORANGE = "#d97800"  # warnings
BLUE = "#1f77b4"  # infos: shown only when asked for, least loud
GREY = "#7f7f7f"
#: Per severity rank (error 2, warning 1, info 0): colour, line width, sign.
SEVERITY_STYLE = {2: (RED, "2.5", "✖"), 1: (ORANGE, "2", "⚠"), 0: (BLUE, "1.2", "ℹ")}
#: Numbered siblings merged into one box when at least this many share a shape.
MERGE_AT_LEAST = 3
#: Above this many drawn process nodes, edge labels shrink to one line.
COMPACT_ABOVE = 30
MAX_NOTES = 12
#: Unflagged edges into a node with this many distinct senders are drawn light grey.
HUB_FAN_IN = 8
_INSTANCE = re.compile(r"^(.+)\[(\d+)\]$")
_ID_CHARS = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Mark:
    """One rule's findings on a drawn element."""

    rule: str
    severity: Severity
    sockets: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    #: How many merged processes (or edges) this rule hit, when merged.
    hits: int = 1

    @property
    def text(self) -> str:
        """The mark as drawn: severity sign, rule name, the sockets it concerns and, when
        merged, how many elements it hit (``✖ slow-joiner (out) ×3``).
        """
        sign = _sign(self.severity)
        where = f" ({', '.join(self.sockets)})" if self.sockets else ""
        times = f" ×{self.hits}" if self.hits > 1 else ""
        return f"{sign} {self.rule}{where}{times}"


def _sign(severity: Severity) -> str:
    return SEVERITY_STYLE[max(0, min(2, severity.rank))][2]


def _worst(marks: list[Mark]) -> int | None:
    """The highest severity rank among ``marks`` (None: no marks)."""
    return max((max(0, min(2, m.severity.rank)) for m in marks), default=None)


def _color(marks: list[Mark]) -> str | None:
    rank = _worst(marks)
    return None if rank is None else SEVERITY_STYLE[rank][0]


@dataclass
class Node:
    """A drawn box: a process (all its replicas) or an unresolved peer."""

    id: str
    name: str
    kind: str  # "process" | "unresolved"
    owner: str | None = None
    replicas: int = 1
    details: str = ""
    marks: list[Mark] = field(default_factory=list)
    #: The processes merged into this box (empty: just this one).
    members: list[str] = field(default_factory=list)
    #: Owners of the merged processes, when they differ.
    owners: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The box's first line(s): the name (``×N`` for replicas), or for merged siblings the
        first and last name and their count.
        """
        if len(self.members) > 1:
            each = f" ×{self.replicas} each" if self.replicas > 1 else ""
            return f"{self.members[0]} … {self.members[-1]}\n{len(self.members)} processes{each}"
        return f"{self.name} ×{self.replicas}" if self.replicas > 1 else self.name


@dataclass
class Edge:
    """One socket pair: every instance-level connection between them, collapsed."""

    tail: str
    head: str
    sender_socket: str | None
    receiver_socket: str | None
    sender_type: str | None
    receiver_type: str | None
    count: int = 0
    hwm: str = ""
    bound: str = ""
    unresolved: bool = False
    control: bool = False
    mismatch: bool = False
    bidirectional: bool = False
    marks: list[Mark] = field(default_factory=list)
    #: How many socket-pair edges were merged into this one (:func:`fold`).
    merged: int = 1

    def label(self, compact: bool) -> list[str]:
        """The edge's label lines.

        Parameters
        ----------
        compact
            One line of socket types, count and queue bound (large diagrams), instead of two
            (socket names, types and count; HWMs and queue bound).

        Returns
        -------
        list of str
            The label lines, then one line per finding mark.
        """
        arrow = "↔" if self.bidirectional else "→"
        types = arrow.join(t.upper() for t in (self.sender_type, self.receiver_type) if t)
        count = f" ×{self.count}" if self.count > 1 else ""
        if self.merged > 1:
            count += f" ({self.merged} pairs)"
        if compact:
            line = " ".join(x for x in (types + count, self.bound) if x)
            return [line, *(m.text for m in self.marks)]
        socks = arrow.join(s for s in (self.sender_socket, self.receiver_socket) if s)
        first = " · ".join(x for x in (socks, types + count) if x)
        second = " · ".join(x for x in (self.hwm, self.bound) if x)
        if second and self.count > 1 and self.bound:
            second += " each"
        return [x for x in (first, second) if x] + [m.text for m in self.marks]


@dataclass
class Diagram:
    """What is drawn, independent of the output format."""

    name: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Info findings left out of the picture (``--show-info`` draws them).
    hidden_infos: int = 0

    @property
    def compact(self) -> bool:
        """Whether the diagram is large (more than :data:`COMPACT_ABOVE` processes): tighter
        spacing and one-line edge labels.
        """
        return sum(1 for n in self.nodes.values() if n.kind == "process") > COMPACT_ABOVE

    def edge_labels(self) -> list[list[str]]:
        """Each edge's label lines; in a fan-in or fan-out of three or more edges alike
        (same label, same head or same tail) only the middle one is labelled, with a count."""
        compact = self.compact
        labels = [e.label(compact) for e in self.edges]
        shown: list[list[str]] = [list(lines) for lines in labels]
        done: set[int] = set()
        for side in ("head", "tail"):
            groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
            for i, e in enumerate(self.edges):
                if i not in done:
                    groups.setdefault((getattr(e, side), tuple(labels[i])), []).append(i)
            for members in groups.values():
                if len(members) < 3:
                    continue
                keep = members[len(members) // 2]
                for i in members:
                    shown[i] = []
                    done.add(i)
                shown[keep] = [*labels[keep][:1], f"({len(members)} alike)", *labels[keep][1:]]
                if len(labels[keep]) == 1:
                    shown[keep] = [f"{labels[keep][0]} ({len(members)} alike)"]
        return shown

    def clusters(self) -> dict[str | None, list[Node]]:
        """Nodes by owner (``None``: no owner, last), owners sorted; nodes in declaration
        order within an owner."""
        out: dict[str | None, list[Node]] = {}
        for n in self.nodes.values():
            out.setdefault(n.owner, []).append(n)
        return {k: out[k] for k in sorted(out, key=lambda o: (o is None, o or ""))}


# --------------------------------------------------------------------------------------
# Building the diagram


def _fmt_count(n: int) -> str:
    return f"{n / 1000:.3g}k" if n >= 10_000 else str(n)


def _details(topo: Topology, name: str) -> str:
    from topolint.analysis.performance import fmt_rate, fmt_seconds

    p = topo.processes[name]
    parts = []
    if p.host_declared:
        parts.append(f"@{p.host}")
    if p.rate is not None:
        parts.append(fmt_rate(p.rate))
    if p.count is not None:
        parts.append(f"{_fmt_count(p.count)} msg" + ("s" if p.count != 1 else ""))
    if p.service_time is not None:
        parts.append(fmt_seconds(p.service_time))
    return " · ".join(parts)


def _bounds(topo: Topology, wiring: TopologyGraph) -> tuple[dict[int, str], str | None]:
    """Per connection id: ``≤ 53 msg (530 kB)``; and an error note if analysis failed."""
    from topolint.analysis.performance import analyze, fmt_bytes

    try:
        analysis = analyze(topo, wiring)
    except Exception as e:  # the picture is still worth drawing without the bounds
        return {}, f"memory bounds unavailable ({type(e).__name__}: {e})"
    out: dict[int, str] = {}
    for c in wiring.connections:
        b = analysis.bound_of(c)
        if b.unbounded:
            out[c.id] = "unbounded"
        elif b.messages == 0:
            continue  # nothing queues (no peer): the HWMs say enough
        elif b.messages is None:
            out[c.id] = "≤ ? msg"
        else:
            text = f"≤ {_fmt_count(b.messages)} msg"
            if b.bytes is not None:
                text += f" ({fmt_bytes(b.bytes).replace('.00 ', ' ')})"
            out[c.id] = text
    return out, None


def _hwm(c: Connection) -> str:
    s, r = c.sender_socket, c.receiver_socket
    if s is not None and r is not None:
        return f"hwm {s.sndhwm}/{r.rcvhwm}"
    if s is not None:
        return f"sndhwm {s.sndhwm}"
    if r is not None:
        return f"rcvhwm {r.rcvhwm}"
    return ""


def _process_of(wiring: TopologyGraph, node: str) -> str:
    attrs = wiring.g.nodes.get(node, {})
    return str(attrs.get("process") or node)


def build_diagram(
    topo: Topology,
    findings: Iterable[Finding] = (),
    wiring: TopologyGraph | None = None,
    *,
    merge: bool | None = None,
) -> Diagram:
    """The diagram of ``topo``, with ``findings`` attached to nodes and edges.

    ``merge``: merge numbered siblings of one shape and their parallel edges (:func:`fold`);
    None (default) merges when there are more than :data:`COMPACT_ABOVE` processes.
    """
    wiring = wiring or build_graph(topo)
    d = Diagram(topo.name)
    for p in topo.processes.values():
        d.nodes[p.name] = Node(
            p.name, p.name, "process", p.owner, p.replicas, _details(topo, p.name)
        )
    bounds, problem = _bounds(topo, wiring)
    if problem:
        d.notes.append(problem)
    edges: dict[tuple[str, str | None, str, str | None], Edge] = {}
    replies: set[tuple[str, str | None, str, str | None]] = set()
    for c in wiring.connections:
        tail, head = _process_of(wiring, c.sender), _process_of(wiring, c.receiver)
        for end in (c.sender, c.receiver):
            if wiring.g.nodes.get(end, {}).get("kind") == "unresolved" and end not in d.nodes:
                d.nodes[end] = Node(end, end[1:], "unresolved")
        ss = c.sender_socket.name if c.sender_socket else None
        rs = c.receiver_socket.name if c.receiver_socket else None
        if c.reply:
            replies.add((head, rs, tail, ss))
            continue
        key = (tail, ss, head, rs)
        e = edges.get(key)
        if e is None:
            e = edges[key] = Edge(
                tail,
                head,
                ss,
                rs,
                c.sender_socket.type if c.sender_socket else None,
                c.receiver_socket.type if c.receiver_socket else None,
                hwm=_hwm(c),
                bound=bounds.get(c.id, ""),
                unresolved=c.unresolved,
                control=c.control,
                mismatch=c.mismatch,
            )
        e.count += 1
    for key, e in edges.items():
        e.bidirectional = key in replies
    d.edges = list(edges.values())
    _attach(d, topo, findings)
    if merge is None:
        merge = len(topo.processes) > COMPACT_ABOVE
    if merge:
        fold(d, topo)
    return d


def _refs(topo: Topology, item: str) -> tuple[str, str, str | None] | None:
    """What a finding's subject item names: ``("p", process, None)``, ``("s", process,
    socket)`` or ``("u", node, None)`` for an unresolved peer; None if nothing drawn."""
    if item.startswith("?"):
        return ("u", item, None)
    m = _INSTANCE.match(item)
    if item in topo.processes:
        return ("p", item, None)
    if m and m.group(1) in topo.processes:
        return ("p", m.group(1), None)
    head, dot, sock = item.partition(".")
    if dot:
        m = _INSTANCE.match(head)
        proc = m.group(1) if m else head
        p = topo.processes.get(proc)
        if p is not None and sock in p.sockets:
            return ("s", proc, sock)
    return None


def _mark(marks: list[Mark], f: Finding, sockets: Iterable[str] = ()) -> None:
    for m in marks:
        if m.rule == f.rule:
            break
    else:
        m = Mark(f.rule, f.severity)
        marks.append(m)
    if f.severity.rank > m.severity.rank:
        m.severity = f.severity
    m.sockets += [s for s in sockets if s not in m.sockets]
    m.messages.append(f"{f.code} {f.rule}: {f.message}")


def _attach(d: Diagram, topo: Topology, findings: Iterable[Finding]) -> None:
    """Put each finding on the edges it names (both ends named), else on its nodes."""
    unmapped: list[Finding] = []
    for f in findings:
        refs = {r for r in (_refs(topo, s) for s in f.subject) if r is not None}
        procs = {r[1] for r in refs if r[0] == "p"}
        socks = {(r[1], r[2]) for r in refs if r[0] == "s"}
        peers = {r[1] for r in refs if r[0] == "u"}
        hit = False
        for e in d.edges:
            tail_ok = e.tail in procs or e.tail in peers or (e.tail, e.sender_socket) in socks
            head_ok = e.head in procs or e.head in peers or (e.head, e.receiver_socket) in socks
            if tail_ok and head_ok and e.tail != e.head:
                _mark(e.marks, f)
                hit = True
        if hit:
            continue
        for proc in sorted(procs | {p for p, _ in socks} | peers):
            node = d.nodes.get(proc)
            if node is None:
                continue
            _mark(node.marks, f, sorted(s for p, s in socks if p == proc and s))
            hit = True
        path = tuple(f.path)
        if not hit and len(path) >= 2 and path[0] == "processes" and path[1] in d.nodes:
            sock = [str(path[3])] if len(path) >= 4 and path[2] == "sockets" else []
            _mark(d.nodes[str(path[1])].marks, f, sock)  # no subject: the element it points at
            hit = True
        if not hit:
            unmapped.append(f)
    for f in unmapped[:MAX_NOTES]:
        sign = _sign(f.severity)
        where = f"line {f.line}" + (f", {f.element}" if f.element else "")
        d.notes.append(f"{sign} {f.rule} ({where})")
    if len(unmapped) > MAX_NOTES:
        d.notes.append(f"… and {len(unmapped) - MAX_NOTES} more")
    for n in d.nodes.values():
        n.marks.sort(key=lambda m: (-m.severity.rank, m.rule))
    for e in d.edges:
        e.marks.sort(key=lambda m: (-m.severity.rank, m.rule))


# --------------------------------------------------------------------------------------
# Merging on large topologies

_DIGITS = re.compile(r"[0-9]+")


def _family(name: str) -> str:
    """``readout12`` -> ``readout#``; ``qa-0-3`` -> ``qa-#-#``."""
    return _DIGITS.sub("#", name)


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: ``readout2`` before ``readout10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"([0-9]+)", name)
        if part
    )


def _shape(topo: Topology, name: str) -> tuple[object, ...]:
    p = topo.processes[name]
    sockets = tuple(
        sorted((s.name, s.type, s.sends or "", s.receives or "") for s in p.sockets.values())
    )
    return (_family(name), p.replicas, sockets, _family(p.owner or ""))


def _merge_marks(groups: Iterable[list[Mark]]) -> list[Mark]:
    """One mark per rule over several elements' marks; ``hits`` counts the elements."""
    out: dict[str, Mark] = {}
    for marks in groups:
        for m in marks:
            merged = out.get(m.rule)
            if merged is None:
                out[m.rule] = Mark(m.rule, m.severity, list(m.sockets), list(m.messages), 0)
                merged = out[m.rule]
            else:
                if m.severity.rank > merged.severity.rank:
                    merged.severity = m.severity
                merged.sockets += [x for x in m.sockets if x not in merged.sockets]
                merged.messages += m.messages
            merged.hits += max(1, m.hits)
    return sorted(out.values(), key=lambda m: (-m.severity.rank, m.rule))


def _same(values: Iterable[str]) -> str:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else ""


def fold(d: Diagram, topo: Topology) -> None:
    """Merge numbered siblings of one shape into one box, and parallel edges into one.

    Siblings: at least :data:`MERGE_AT_LEAST` processes whose names differ only in their
    numbers and that have the same replicas, sockets (name, type, message types) and owner
    pattern (``det0-team`` … ``det12-team``).  The merged box lists the first and last name
    and the count; merged edges add up their connections and keep one label.
    """
    nodes, rename = _merge_siblings(d, topo)
    if not rename:
        return
    d.nodes = nodes
    d.edges = _merge_edges(d.edges, rename)


def _sibling_groups(d: Diagram, topo: Topology) -> dict[tuple[object, ...], list[str]]:
    """The numbered processes of ``d`` by shape (candidates for merging)."""
    groups: dict[tuple[object, ...], list[str]] = {}
    for n in d.nodes.values():
        if n.kind == "process" and _family(n.name) != n.name:
            groups.setdefault(_shape(topo, n.name), []).append(n.name)
    return groups


def _merge_siblings(d: Diagram, topo: Topology) -> tuple[dict[str, Node], dict[str, str]]:
    """The nodes after merging each group of at least :data:`MERGE_AT_LEAST` siblings into
    one, and the new id of every merged process (empty when nothing merges)."""
    groups = _sibling_groups(d, topo)
    rename: dict[str, str] = {}
    nodes: dict[str, Node] = {}
    for n in list(d.nodes.values()):
        if n.id in rename:
            continue
        shape = _shape(topo, n.name) if n.kind == "process" else None
        members = groups.get(shape, []) if shape is not None else []
        if len(members) < MERGE_AT_LEAST:
            nodes[n.id] = n
            continue
        merged = _merged_node(d, n, sorted(members, key=_natural), nodes)
        nodes[merged.id] = merged
        for m in merged.members:
            rename[m] = merged.id
    return nodes, rename


def _merged_node(d: Diagram, n: Node, members: list[str], taken: dict[str, Node]) -> Node:
    """One box for the sibling processes ``members`` (``n`` among them), with an id not in
    ``taken`` nor ``d``: their family name, owners, shared details and merged marks."""
    parts = [d.nodes[m] for m in members]
    owners = sorted({p.owner for p in parts if p.owner}, key=_natural)
    owner = owners[0] if len(owners) == 1 else (f"{owners[0]} … {owners[-1]}" if owners else None)
    nid = _family(n.name)
    while nid in taken or nid in d.nodes:
        nid += "'"
    return Node(
        nid,
        _family(n.name),
        "process",
        owner,
        n.replicas,
        _same(p.details for p in parts),
        _merge_marks(p.marks for p in parts),
        members=members,
        owners=owners if len(owners) > 1 else [],
    )


def _merge_edges(edges: list[Edge], rename: dict[str, str]) -> list[Edge]:
    """``edges`` with their ends renamed, parallel ones (same ends, sockets and kind)
    merged into one that adds up their connections."""
    merged: dict[tuple[object, ...], list[Edge]] = {}
    for e in edges:
        ends = (rename.get(e.tail, e.tail), rename.get(e.head, e.head))
        k = (ends[0], e.sender_socket, ends[1], e.receiver_socket, e.unresolved, e.control)
        merged.setdefault(k, []).append(e)
    out = []
    for key, group in merged.items():
        first = group[0]
        edge = Edge(
            str(key[0]),
            str(key[2]),
            first.sender_socket,
            first.receiver_socket,
            first.sender_type,
            first.receiver_type,
            count=sum(e.count for e in group),
            hwm=_same(e.hwm for e in group),
            bound=_same(e.bound for e in group),
            unresolved=first.unresolved,
            control=first.control,
            mismatch=any(e.mismatch for e in group),
            bidirectional=any(e.bidirectional for e in group),
            marks=_merge_marks(e.marks for e in group),
            merged=len(group),
        )
        out.append(edge)
    return out


# --------------------------------------------------------------------------------------
# Graphviz DOT


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**kw: str | None) -> str:
    items = [f"{k}={_dot_str(v)}" for k, v in kw.items() if v is not None]
    return f" [{', '.join(items)}]" if items else ""


def _cluster_ids(owners: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for owner in owners:
        base = "cluster_" + (_ID_CHARS.sub("_", owner) or "owner")
        cid, n = base, 1
        while cid in used:
            n += 1
            cid = f"{base}_{n}"
        used.add(cid)
        out[owner] = cid
    return out


def _legend_lines(d: Diagram) -> list[str]:
    """The legend as plain lines (Mermaid)."""
    out = ["legend", "box: process; ×N replicas (double border)"]
    if any(len(n.members) > 1 for n in d.nodes.values()):
        out.append("a0 … a9: similar processes merged, with their count")
    out += [
        "edge: socket types ×connections, hwm snd/rcv, ≤ queue bound",
        "dashed: unresolved peer; dotted: end-of-data only",
        "✖ error (red) · ⚠ warning (orange) · ℹ info (blue)",
    ]
    if d.hidden_infos:
        out.append(f"{d.hidden_infos} info findings hidden (--show-info)")
    return out


def _legend(d: Diagram) -> str:
    """A legend node (an HTML-like table): what boxes, edges, labels and colours mean."""

    def row(sample: str, text: str, color: str = "#404040") -> str:
        return (
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}">{sample}</FONT></TD>'
            f'<TD ALIGN="LEFT">{text}</TD></TR>'
        )

    ranks = {r for n in d.nodes.values() if (r := _worst(n.marks)) is not None}
    ranks |= {r for e in d.edges if (r := _worst(e.marks)) is not None}
    rows = [
        '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>',
        row("▭ name", "process"),
        row("▭ name ×N", "N replicas (double border)"),
    ]
    if any(len(n.members) > 1 for n in d.nodes.values()):
        rows.append(row("▭ a0 … a9", "similar processes merged, with their count"))
    rows += [
        row("──▶", "data: socket types ×connections, hwm snd/rcv, ≤ queue bound"),
        row("╌╌▶", "unresolved peer (dashed, grey)", GREY),
        row("┈┈▶", "end-of-data control only (dotted)"),
    ]
    names = {2: "error", 1: "warning", 0: "info"}
    for rank in (2, 1, 0):
        color, _, sign = SEVERITY_STYLE[rank]
        shown = "" if rank in ranks else " (none)"
        if rank == 0 and d.hidden_infos:
            shown = f" ({d.hidden_infos} hidden: --show-info)"
        rows.append(row(f"{sign} ━━", f"{names[rank]}: rule name on the element{shown}", color))
    html = '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1">'
    html += "".join(rows) + "</TABLE>>"
    # an HTML-like label is written between < >, not quoted
    return (
        f'  "__legend__" [shape=box, style="rounded", color="{GREY}", fontsize="9", label={html}];'
    )


def to_dot(d: Diagram) -> str:
    """The diagram as Graphviz DOT text (left to right, one cluster per owner).

    Parameters
    ----------
    d
        The diagram, from :func:`build_diagram` (and :func:`fold`).

    Returns
    -------
    str
        A ``digraph`` with a legend node, one ``cluster_`` subgraph per owner, one edge
        statement per diagram edge and, when there are any, a note of the findings not
        drawn on an element; one statement per line, ending in a newline.
    """
    lines = _dot_header(d)
    lines.append(_legend(d))
    lines += _dot_nodes(d)
    fan_in = _fan_in(d)
    for e, shown in zip(d.edges, d.edge_labels(), strict=True):
        lines.append(_dot_edge(e, shown, d.compact, fan_in[e.head]))
    if d.notes:
        lines.append(_dot_notes(d.notes))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_header(d: Diagram) -> list[str]:
    """The ``digraph`` line and the graph, node and edge defaults."""
    compact = d.compact
    return [
        f"digraph {_dot_str(d.name)} {{",
        "  graph"
        + _attrs(
            rankdir="LR",
            label=d.name,
            labelloc="t",
            fontname="Helvetica",
            fontsize="14",
            nodesep="0.25" if compact else "0.35",
            ranksep="0.5" if compact else "0.8",
            newrank="true",
        )
        + ";",
        "  node"
        + _attrs(shape="box", style="rounded", fontname="Helvetica", fontsize="11", margin="0.1")
        + ";",
        "  edge" + _attrs(fontname="Helvetica", fontsize="9", color="#404040") + ";",
    ]


def _dot_nodes(d: Diagram) -> list[str]:
    """Each owner's cluster with its nodes, then the nodes without an owner."""
    lines = []
    clusters = d.clusters()
    ids = _cluster_ids(o for o in clusters if o is not None)
    for owner, nodes in clusters.items():
        if owner is None:
            continue
        lines.append(f"  subgraph {ids[owner]} {{")
        lines.append(
            "    graph"
            + _attrs(label=f"owner: {owner}", style="rounded,dashed", color=GREY, fontsize="11")
            + ";"
        )
        lines += [_dot_node(n, "    ") for n in nodes]
        lines.append("  }")
    lines += [_dot_node(n, "  ") for n in clusters.get(None, [])]
    return lines


def _dot_node(n: Node, indent: str) -> str:
    """One node statement: label (title, details, marks), replica/merge and finding styles."""
    label = [n.title] + ([n.details] if n.details else []) + [m.text for m in n.marks]
    attrs: dict[str, str | None] = {"label": "\n".join(label)}
    if n.kind == "unresolved":
        attrs.update(shape="box", style="dashed,rounded", color=GREY, fontcolor=GREY)
        attrs["tooltip"] = f"unresolved peer {n.name}"
    if n.replicas > 1 or len(n.members) > 1:
        attrs["style"] = "rounded,filled"
        attrs["fillcolor"] = "#f0f0f0"
        attrs["peripheries"] = "2"
    if len(n.members) > 1:
        attrs["tooltip"] = "merged: " + ", ".join(n.members)
    rank = _worst(n.marks)
    if rank is not None:
        color, width, _ = SEVERITY_STYLE[rank]
        attrs.update(color=color, fontcolor=color, penwidth=width)
        attrs["tooltip"] = "\n".join(msg for m in n.marks for msg in m.messages)
    return f"{indent}{_dot_str(n.id)}{_attrs(**attrs)};"


def _fan_in(d: Diagram) -> dict[str, int]:
    """Per edge head, the number of distinct tails drawn into it."""
    tails: dict[str, set[str]] = {}
    for e in d.edges:
        tails.setdefault(e.head, set()).add(e.tail)
    return {head: len(t) for head, t in tails.items()}


def _dot_edge(e: Edge, shown: list[str], compact: bool, fan_in: int) -> str:
    """One edge statement: the ``shown`` label (the full one as tooltip), line style for
    unresolved/control/mismatched edges, quiet grey into a hub, finding colours."""
    full = "\n".join(e.label(compact))
    attrs: dict[str, str | None] = {"label": "\n".join(shown) or None, "tooltip": full}
    styles = []
    if e.unresolved:
        styles.append("dashed")
    elif e.control:
        styles.append("dotted")
    if e.mismatch:
        styles.append("bold")
    if styles:
        attrs["style"] = ",".join(styles)
    if e.bidirectional:
        attrs["dir"] = "both"
    if e.count > 1:
        attrs["penwidth"] = "1.6"
    if fan_in >= HUB_FAN_IN:  # many edges into one hub: keep them quiet
        attrs["color"] = "#a0a0a0"
    rank = _worst(e.marks)
    if rank is not None:
        color, width, _ = SEVERITY_STYLE[rank]
        attrs.update(color=color, fontcolor=color, penwidth=width)
        if rank == 0 and not styles:
            attrs["style"] = "dashed"  # an info: visible, not alarming
        attrs["tooltip"] = "\n".join(msg for m in e.marks for msg in m.messages)
    return f"  {_dot_str(e.tail)} -> {_dot_str(e.head)}{_attrs(**attrs)};"


def _dot_notes(notes: list[str]) -> str:
    """The note node listing what is not drawn on an element."""
    return (
        "  "
        + _dot_str("__notes__")
        + _attrs(
            label="\n".join(["findings not drawn on an element:", *notes])
            if any(n[:1] in ("✖", "⚠", "ℹ") for n in notes)
            else "\n".join(notes),
            shape="note",
            color=RED,
            fontcolor=RED,
            fontsize="10",
        )
        + ";"
    )


# --------------------------------------------------------------------------------------
# Mermaid


def _mmd_str(text: str) -> str:
    """A quoted Mermaid label: entity codes for the characters Mermaid interprets."""
    out = (
        text.replace("&", "&amp;")
        .replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
    return '"' + out.replace("\n", "<br/>") + '"'


#: Mermaid class names of the severity ranks.
_MMD_CLASSES = {2: "error", 1: "warning", 0: "info"}


def to_mermaid(d: Diagram) -> str:
    """The diagram as a Mermaid flowchart (renders in GitHub/GitLab Markdown).

    Parameters
    ----------
    d
        The diagram, from :func:`build_diagram` (and :func:`fold`).

    Returns
    -------
    str
        A ``flowchart LR`` with a title, one subgraph per owner, nodes ``n0``, ``n1``… in
        the diagram's order, the notes and the legend, then the class and link styles of
        the findings; ending in a newline.
    """
    ids = {nid: f"n{i}" for i, nid in enumerate(d.nodes)}
    lines = ["---", f"title: {_mmd_str(d.name)}", "---", "flowchart LR"]
    by_rank: dict[int, list[str]] = {2: [], 1: [], 0: []}
    lines += _mmd_nodes(d, ids, by_rank)
    links: list[tuple[int, int]] = []
    for i, (e, shown) in enumerate(zip(d.edges, d.edge_labels(), strict=True)):
        label = f"|{_mmd_str(chr(10).join(shown))}|" if shown else ""
        lines.append(f"  {ids[e.tail]} {_mmd_arrow(e)}{label} {ids[e.head]}")
        rank = _worst(e.marks)
        if rank is not None:
            links.append((i, rank))
    if d.notes:
        lines.append(f"  notes>{_mmd_str(chr(10).join(d.notes))}]")
        by_rank[2].append("notes")
    lines.append(f"  legend>{_mmd_str(chr(10).join(_legend_lines(d)))}]")
    lines += _mmd_styles(d, ids, by_rank, links)
    return "\n".join(lines) + "\n"


def _mmd_nodes(d: Diagram, ids: dict[str, str], by_rank: dict[int, list[str]]) -> list[str]:
    """Each owner's subgraph with its nodes, then the nodes without an owner; the id of
    each node with findings is added to ``by_rank`` under its worst severity."""
    lines = []
    clusters = d.clusters()
    for i, (owner, nodes) in enumerate(clusters.items()):
        if owner is None:
            continue
        lines.append(f"  subgraph owner{i}[{_mmd_str('owner: ' + owner)}]")
        lines += [_mmd_node(n, ids[n.id], by_rank, "    ") for n in nodes]
        lines.append("  end")
    lines += [_mmd_node(n, ids[n.id], by_rank, "  ") for n in clusters.get(None, [])]
    return lines


def _mmd_node(n: Node, nid: str, by_rank: dict[int, list[str]], indent: str) -> str:
    """One node: a parallelogram when unresolved, a double box for replicas or merged
    siblings, else a rounded box."""
    label = [n.title] + ([n.details] if n.details else []) + [m.text for m in n.marks]
    text = _mmd_str("\n".join(label))
    rank = _worst(n.marks)
    if rank is not None:
        by_rank[rank].append(nid)
    if n.kind == "unresolved":
        return f"{indent}{nid}[/{text}/]"
    if n.replicas > 1 or len(n.members) > 1:
        return f"{indent}{nid}[[{text}]]"
    return f"{indent}{nid}({text})"


def _mmd_arrow(e: Edge) -> str:
    """Dotted for unresolved or control edges, thick for mismatches; both ends when
    bidirectional."""
    if e.unresolved or e.control:
        return "<-.->" if e.bidirectional else "-.->"
    if e.mismatch:
        return "<==>" if e.bidirectional else "==>"
    return "<-->" if e.bidirectional else "-->"


def _mmd_styles(
    d: Diagram, ids: dict[str, str], by_rank: dict[int, list[str]], links: list[tuple[int, int]]
) -> list[str]:
    """The class definitions, the nodes of each class and the styles of the links
    (``links``: edge index and severity rank) with findings."""
    lines = []
    for rank, name in _MMD_CLASSES.items():
        color, width, _ = SEVERITY_STYLE[rank]
        dash = ",stroke-dasharray:3 3" if rank == 0 else ""
        lines.append(f"  classDef {name} stroke:{color},stroke-width:{width}px,color:{color}{dash}")
    lines.append(f"  classDef unresolved stroke-dasharray:5 5,color:{GREY}")
    lines.append(f"  classDef legend stroke:{GREY},color:#404040,font-size:10px")
    for rank, name in _MMD_CLASSES.items():
        if by_rank[rank]:
            lines.append(f"  class {','.join(by_rank[rank])} {name}")
    unresolved = [ids[n.id] for n in d.nodes.values() if n.kind == "unresolved"]
    if unresolved:
        lines.append(f"  class {','.join(unresolved)} unresolved")
    lines.append("  class legend legend")
    for rank in _MMD_CLASSES:
        color, width, _ = SEVERITY_STYLE[rank]
        which = [str(i) for i, r in links if r == rank]
        if which:
            lines.append(
                f"  linkStyle {','.join(which)} stroke:{color},stroke-width:{width}px,color:{color}"
            )
    return lines


# --------------------------------------------------------------------------------------
# Files


def _format_of(output: Path) -> str:
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot render to {output.name!r}: expected a file ending in "
            ".svg, .png, .dot (or .gv) or .mmd (Mermaid)"
        )
    return fmt


def render_topology(
    topo: Topology,
    fmt: str,
    findings: Iterable[Finding] = (),
    *,
    show_info: bool = False,
    merge: bool | None = None,
) -> str | bytes:
    """``topo`` as ``svg``/``png`` (bytes from Graphviz) or ``dot``/``mermaid`` text.

    Parameters
    ----------
    topo
        The topology to draw.
    fmt
        ``svg``, ``png``, ``dot`` or ``mermaid``; anything else is a :class:`UsageError`.
    findings
        Findings to draw on their elements (errors and warnings; infos only with
        ``show_info``, else the legend counts them as hidden).
    merge
        As for :func:`build_diagram`: merge numbered siblings (``None``: on large
        topologies).

    Returns
    -------
    str or bytes
        DOT or Mermaid text; SVG or PNG bytes.
    """
    found = list(findings)
    shown = [f for f in found if show_info or f.severity.rank > 0]
    d = build_diagram(topo, shown, merge=merge)
    d.hidden_infos = len(found) - len(shown)
    if fmt == "dot":
        return to_dot(d)
    if fmt == "mermaid":
        return to_mermaid(d)
    if fmt not in ("svg", "png"):
        raise UsageError(f"unknown diagram format {fmt!r}")
    import pygraphviz

    graph = pygraphviz.AGraph(string=to_dot(d))
    data: bytes = graph.draw(format=fmt, prog="dot")
    return data


def render_file(
    path: Path,
    output: Path,
    *,
    findings: bool,
    variables: dict[str, str],
    show_info: bool = False,
    merge: bool | None = None,
) -> None:
    """Draw the topology in ``path`` to ``output`` (the format from its extension).

    Findings come from the same rules, configuration (the nearest ``pyproject.toml`` or
    ``.topolint.yaml``) and suppressions as ``topolint check``.
    """
    from topolint.lint.config import Config, find_config, load_config, settings_for
    from topolint.lint.engine import load, run_rules

    fmt = _format_of(output)
    found = find_config(path)
    config = load_config(found) if found else Config()
    settings = settings_for(config, select=[], ignore=[], fail_on=None, variables=variables)
    topo = load(path, settings.variables)
    result = render_topology(
        topo,
        fmt,
        run_rules(topo, settings) if findings else (),
        show_info=show_info,
        merge=merge,
    )
    try:
        if isinstance(result, bytes):
            output.write_bytes(result)
        else:
            output.write_text(result, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror or e}") from None
