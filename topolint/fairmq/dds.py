"""DDS topology XML: which FairMQ devices run, how many times, and how they are wired.

``<decltask>`` declares a task type whose ``<exe>`` is the device's command line (read by
:mod:`.cmdline`; ``%taskIndex%`` and ``%collectionIndex%`` stay placeholders).
``<declcollection>`` groups task types (``<name n="K">`` for K copies); ``<main>``
instantiates tasks and collections once, or N times inside ``<group n="N">``.  ``<var>``
values replace ``${name}`` (a ``--var`` of the same name wins).  Older files use ``id=``
attributes and ``<id>`` children instead of ``name``.

Channels of devices started with the DDS or ODC plugin (``-P dds``) usually carry no
address: the plugin publishes each binding channel's address under ``fmqchan_<channel>``
and connecting channels of the same name read it, so ends meet by channel name.

The XML is read with expat and nothing else: a document type declaration (the only way to
declare entities, hence entity bombs and external entities) is refused, nothing is fetched,
nesting is bounded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from pathlib import PurePath
from xml.parsers import expat

from topolint.errors import InputError, NoDevices
from topolint.lint.findings import Position

from . import cmdline
from .core import Device, Launch, substitute

MAX_DEPTH = 100
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_UNESCAPE = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&apos;": "'"}


@dataclass
class Elem:
    """One XML element: tag, attributes, position, children and text."""

    tag: str
    attrs: dict[str, str]
    line: int
    column: int
    start: int  # character offset of '<'
    content: tuple[int, int] = (0, 0)  # character offsets of the text inside
    children: list[Elem] = field(default_factory=list)
    text: str = ""

    @property
    def name(self) -> str:
        """``name=`` or (older files) ``id=``; else the element's text."""
        named = self.attrs.get("name") or self.attrs.get("id")
        if named:
            return named
        templated = [v for k, v in self.attrs.items() if k.startswith("_") and k.endswith("_")]
        return templated[0] if len(templated) == 1 else self.text.strip()

    @property
    def pos(self) -> Position:
        """Where the element starts (its ``<``)."""
        return Position(self.line, self.column)

    def find(self, *tags: str) -> list[Elem]:
        """The children with one of ``tags``, in document order."""
        return [c for c in self.children if c.tag in tags]


def looks_like_xml(text: str) -> bool:
    """Does ``text`` start with markup (after a byte-order mark and white space)?"""
    return text.lstrip("\ufeff \t\r\n").startswith("<")


_TEMPLATE_NAME = re.compile(
    r"(?<=<)@([A-Za-z_][A-Za-z0-9_]*)@|(?<=</)@([A-Za-z_][A-Za-z0-9_]*)@|@([A-Za-z_][A-Za-z0-9_]*)@(?=\s*=)"
)


def parse_xml(text: str, file: str) -> Elem:
    """The element tree of ``text`` with positions; DTDs are refused.

    CMake templates may write element and attribute names as ``@VAR@`` (e.g.
    ``<@dds_name_tag@ access="read">``); such a name reads as ``_VAR_`` (same length:
    positions stay exact).
    """
    text = _TEMPLATE_NAME.sub(lambda m: f"_{m.group(m.lastindex or 1)}_", text)
    parser = expat.ParserCreate()
    raw = text.encode("utf-8")
    ascii_only = len(raw) == len(text)

    def char_offset(byte_index: int) -> int:
        return byte_index if ascii_only else len(raw[:byte_index].decode("utf-8", "replace"))

    stack: list[Elem] = []
    root: list[Elem] = []

    def refuse(*_: object) -> None:
        raise InputError(
            "XML document type declarations are not accepted (entities could expand or fetch)",
            file,
            parser.CurrentLineNumber,
            parser.CurrentColumnNumber + 1,
        )

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(stack) >= MAX_DEPTH:
            raise InputError(
                f"XML nesting deeper than {MAX_DEPTH} levels",
                file,
                parser.CurrentLineNumber,
                parser.CurrentColumnNumber + 1,
            )
        at = char_offset(parser.CurrentByteIndex)
        e = Elem(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1, at)
        (stack[-1].children if stack else root).append(e)
        stack.append(e)

    def end(tag: str) -> None:
        e = stack.pop()
        close = char_offset(parser.CurrentByteIndex)
        opened = text.find(">", e.start) + 1
        e.content = (opened, max(opened, close))

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as e:
        raise InputError(
            f"invalid XML: {expat.ErrorString(e.code)}", file, e.lineno, e.offset + 1
        ) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops this first
        raise InputError("XML nesting too deep", file, 1, 1) from None
    if not root:
        raise InputError("empty XML document", file, 1, 1)
    return root[0]


def is_dds(root: Elem) -> bool:
    """Is ``root`` a DDS topology (``<topology>``)?"""
    return root.tag == "topology"


def _shadow(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with XML character references inside ``spans`` replaced by their character
    padded with NULs (which the command tokenizer skips), so offsets stay the same."""
    out = list(text)
    for a, b in spans:
        for m in _ENTITY.finditer(text, a, b):
            ent = m.group(0)
            if ent in _UNESCAPE:
                ch = _UNESCAPE[ent]
            else:
                code = int(ent[3:-1], 16) if ent[2] == "x" else int(ent[2:-1])
                ch = chr(code) if 0 < code < 0x110000 else "?"
            out[m.start()] = ch
            for k in range(m.start() + 1, m.end()):
                out[k] = "\x00"
    return "".join(out)


@dataclass(frozen=True)
class _Instance:
    """A task started by ``<main>``: where (``group/collection/``), which, how many times."""

    context: str
    task: str
    replicas: int
    replicas_pos: Position | None


@dataclass
class _Task:
    name: str
    elem: Elem
    devices: list[Device]


class _Reader:
    def __init__(
        self, text: str, file: str, root: Elem, variables: Mapping[str, str], base: FsPath | None
    ) -> None:
        self.text = text
        self.file = file
        self.root = root
        self.base = base
        self.vars: dict[str, str] = {}
        for v in root.find("var"):
            if v.name:
                self.vars[v.name] = v.attrs.get("value", "")
        self.vars.update(variables)
        self.notes: list[str] = []
        self.collections: dict[str, Elem] = {c.name: c for c in root.find("declcollection")}

    def err(self, e: Elem, message: str) -> InputError:
        return InputError(message, self.file, e.line, e.column)

    def task(self, decl: Elem, shadow: str) -> _Task:
        devices: list[Device] = []
        for exe in decl.find("exe"):
            a, b = exe.content
            if not cmdline.is_cmdline(exe.text):
                continue
            launch = cmdline.read(shadow, self.file, self.vars, base=self.base, span=(a, b))
            devices.extend(launch.devices)
        return _Task(decl.name, decl, devices)

    def count(self, e: Elem, attr: str = "n") -> tuple[int, Position | None]:
        raw = e.attrs.get(attr)
        if raw is None:
            return 1, None
        value = substitute(raw, self.vars).strip()
        if not value.isascii() or not value.isdigit():
            self.notes.append(
                f"{e.tag} {e.name!r} (line {e.line}): n={raw!r} is unknown; counted once"
            )
            return 1, e.pos
        n = int(value)
        if n > 100_000:
            raise self.err(e, f"{e.tag} {e.name!r}: n={n:,} is more than 100,000 instances")
        return n, e.pos

    def run(self) -> Launch:
        """The launch: every task instance of ``<main>`` with its multiplicity."""
        root = self.root
        decls = root.find("decltask")
        shadow = _shadow(self.text, [x.content for d in decls for x in d.find("exe")])
        tasks = {t.name: t for t in (self.task(d, shadow) for d in decls)}
        devices = self.devices(tasks, self.instances(tasks))
        if not any(d.channels for d in devices):
            raise NoDevices(
                "DDS topology without FairMQ channels (no --channel-config or --mq-config in "
                "any <exe>): nothing to check",
                self.file,
                root.line,
                root.column,
            )
        return Launch(
            file=self.file,
            text=self.text,
            form="dds",
            name=root.name or PurePath(self.file).name,
            devices=devices,
            catalogue=False,
            notes=self.notes,
            variables=self.vars,
        )

    def instances(self, tasks: Mapping[str, _Task]) -> list[_Instance]:
        """What ``<main>`` starts: tasks and collections once, or ``n`` times in a group."""
        mains = self.root.find("main")
        if not mains:  # a topology without <main> declares tasks only: each once
            self.notes.append("no <main>: each declared task counted once")
            return [_Instance("", name, 1, None) for name in tasks]
        out: list[_Instance] = []
        for main in mains:
            for child in main.children:
                if child.tag in ("task", "collection"):
                    self.instantiate(child.tag, child, "", 1, None, tasks, out)
                elif child.tag == "group":
                    n, npos = self.count(child)
                    for g in child.children:
                        if g.tag in ("task", "collection"):
                            self.instantiate(g.tag, g, f"{child.name}/", n, npos, tasks, out)
        return out

    def instantiate(
        self,
        kind: str,
        e: Elem,
        context: str,
        n: int,
        npos: Position | None,
        tasks: Mapping[str, _Task],
        out: list[_Instance],
    ) -> None:
        """Add task or collection (``kind``) ``e``, ``n`` times, to ``out``."""
        name = e.text.strip()
        if kind == "task":
            if name not in tasks:
                raise self.err(e, f"task {name!r} is not declared (no <decltask name={name!r}>)")
            out.append(_Instance(context, name, n, npos))
            return
        coll = self.collections.get(name)
        if coll is None:
            raise self.err(
                e, f"collection {name!r} is not declared (no <declcollection name={name!r}>)"
            )
        for tasks_elem in coll.find("tasks"):
            for t in tasks_elem.children:
                k, kpos = self.count(t)
                # <name n="K">Task</name> (older files: <id>) inside <tasks>
                self.instantiate("task", t, f"{context}{name}/", n * k, kpos or npos, tasks, out)

    def devices(self, tasks: Mapping[str, _Task], instances: list[_Instance]) -> list[Device]:
        """One device per task instance and command line of its ``<exe>``; a task type
        started in several places is named by where (``group/collection/task``)."""
        times = Counter(i.task for i in instances)
        out: list[Device] = []
        for inst in instances:
            task = tasks[inst.task]
            label = inst.task if times[inst.task] == 1 else f"{inst.context}{inst.task}"
            protos = task.devices or [
                Device(name=inst.task, pos=task.elem.pos, meta={"note": "no FairMQ channels"})
            ]
            for k, proto in enumerate(protos):
                out.append(
                    Device(
                        name=label if len(protos) == 1 else f"{label}-{k + 1}",
                        pos=proto.pos,
                        channels=proto.channels,
                        replicas=inst.replicas,
                        replicas_pos=inst.replicas_pos,
                        transport=proto.transport,
                        runtime_addresses=proto.runtime_addresses,
                        meta={"task": inst.task, **proto.meta},
                    )
                )
        return out


def read(
    text: str, file: str, variables: Mapping[str, str] | None = None, *, base: FsPath | None = None
) -> Launch:
    """The devices a DDS topology starts, with their multiplicity."""
    root = parse_xml(text, file)
    if not is_dds(root):
        what = "a FairMQ XML configuration" if "fairmq" in root.tag.lower() else f"<{root.tag}>"
        raise InputError(
            f"{what} is not supported: topolint reads FairMQ JSON, --channel-config command "
            "lines and DDS topology XML (<topology>)",
            file,
            root.line,
            root.column,
        )
    return _Reader(text, file, root, variables or {}, base).run()
