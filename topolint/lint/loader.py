"""Read YAML or JSON into plain data, keeping the position of every element.

The result is a :class:`Document`: ``data`` (dicts, lists, str, int, float, bool, None) and
two position maps keyed by element path — where each value starts and, for mapping
entries, where its key is.  Positions are 1-based.  libyaml's C parser is used when it is
available.  Only plain YAML is accepted: tags that would construct objects, duplicate keys,
excessive alias expansion and excessive nesting are input errors.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from topolint.errors import InputError
from topolint.lint.findings import Path, Position

try:  # libyaml is several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 64 * 1024 * 1024
#: Byte-order marks YAML allows (UTF-32 before UTF-16: their little-endian marks overlap).
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
MAX_DEPTH = 200
#: Alias expansion may add at most this many nodes beyond the document's own size.
ALIAS_BUDGET = 100_000
#: Parser events (scalars, mapping and sequence starts/ends) one file may hold: a little more
#: than the 60,000-process generated job (1.82 million events, 1.4 GB peak for a whole
#: check), so that every file read is checked within about 2 GiB.  A larger file is refused
#: before anything is built from it (a 57 MB file of 100,000 processes x 10 sockets used to
#: need 12 GB).
MAX_EVENTS = 2_000_000

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
#: A suppression comment: ``# topolint: ignore[rule, …] reason`` or ``ignore-file[…]``.
SUPPRESS_RE = re.compile(r"#\s*topolint:\s*(ignore(?:-file)?)(?:\[([^\]]*)\])?\s*(.*)$")


@dataclass
class Suppression:
    """A ``# topolint: ignore[rule] reason`` comment (or ``ignore-file``)."""

    line: int
    rules: tuple[str, ...]  # empty: every rule
    reason: str
    file_level: bool
    used: bool = False


@dataclass(frozen=True)
class Duplicate:
    """A repeated mapping key kept aside (see ``repeatable`` in :func:`load_text`).

    ``value`` is the repetition's value when it is a scalar, else ``...``.
    """

    path: Path
    position: Position
    value: Any


@dataclass
class Document:
    """Loaded data and where each element came from."""

    file: str
    text: str
    data: Any
    value_pos: dict[Path, Position] = field(default_factory=dict)
    key_pos: dict[Path, Position] = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)
    format: str = "yaml"

    def position(self, path: Path) -> Position:
        """Position of the element at ``path``: its key if it has one, else its value.

        Falls back to the nearest ancestor that has a position, then to 1:1.
        """
        p = tuple(path)
        while True:
            pos = self.key_pos.get(p) or self.value_pos.get(p)
            if pos is not None:
                return pos
            if not p:
                return Position(1, 1)
            p = p[:-1]

    def finding_position(self, path: Path) -> Position:
        """Where a finding about ``path`` points: a scalar's value (an endpoint string, a
        number), or the key of a mapping or list element."""
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return self.position(path)
        if isinstance(node, (dict, list)):
            return self.position(path)
        return self.value_position(path)

    def value_position(self, path: Path) -> Position:
        """Position of the value at ``path`` (e.g. the endpoint string), else :meth:`position`."""
        return self.value_pos.get(tuple(path)) or self.position(path)

    def error(self, message: str, path: Path = ()) -> InputError:
        pos = self.value_position(path) if path else Position(1, 1)
        return InputError(message, self.file, pos.line, pos.column)


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


class _CachingLoader(_Loader):
    """The C loader with implicit tag resolution memoised per plain scalar text.

    For a plain scalar the resolved tag depends only on its text (SafeLoader has no path
    resolvers), and topology files repeat the same words thousands of times.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_STR, _NULL, _BOOL = f"{_STD}str", f"{_STD}null", f"{_STD}bool"
_MAP, _SEQ, _MERGE = f"{_STD}map", f"{_STD}seq", f"{_STD}merge"
_BOOLS = yaml.constructor.SafeConstructor.bool_values


class _Builder:
    """Turn the composed node tree into plain data and position maps.

    Hot path of every check: one call per element, so local names are bound up front.
    Alias expansion is charged only when the text can hold an anchor at all.
    """

    def __init__(
        self,
        doc: Document,
        node_count: int,
        aliases: bool,
        repeatable: frozenset[str] = frozenset(),
        duplicates: list[Duplicate] | None = None,
    ) -> None:
        self.doc = doc
        self.budget = node_count + ALIAS_BUDGET
        self.aliases = aliases
        self.loader = _Loader("")
        self.value_pos = doc.value_pos
        self.key_pos = doc.key_pos
        self.repeatable = repeatable
        self.duplicates = duplicates

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        """The plain data of ``node`` (at element ``path``, ``depth`` levels deep),
        recording the position of every element below it."""
        if self.aliases:
            self.budget -= 1
            if self.budget < 0:
                raise self._err(node, "too many nodes after alias expansion (possible alias bomb)")
        if depth > MAX_DEPTH:
            raise self._err(node, f"nesting deeper than {MAX_DEPTH} levels")
        mark = node.start_mark
        self.value_pos[path] = Position(mark.line + 1, mark.column + 1)
        cls = node.__class__
        if cls is yaml.ScalarNode:
            return self._scalar(node)
        if cls is yaml.MappingNode:
            if node.tag != _MAP:
                raise self._err(node, f"unsupported tag {node.tag!r}: only plain YAML is accepted")
            return self._mapping(node, path, depth + 1)
        if cls is yaml.SequenceNode:
            if node.tag != _SEQ:
                raise self._err(node, f"unsupported tag {node.tag!r}: only plain YAML is accepted")
            build = self.build
            depth += 1
            return [build(v, (*path, i), depth) for i, v in enumerate(node.value)]
        raise self._err(node, "unsupported YAML node")  # pragma: no cover

    def _mapping(self, node: yaml.Node, path: Path, depth: int) -> dict[str, Any]:
        """The dict of a mapping ``node`` whose values lie ``depth`` levels deep; key
        positions recorded, repeated keys collected or refused."""
        out: dict[str, Any] = {}
        key_pos = self.key_pos
        build = self.build
        repeatable = self.repeatable
        for knode, vnode in node.value:
            if knode.__class__ is not yaml.ScalarNode:
                raise self._err(knode, "mapping keys must be plain scalars")
            key = knode.value if knode.tag == _STR else self._key(knode)
            kpath = (*path, key)
            if repeatable and key in repeatable:
                self._repeated(out, key, knode, vnode, kpath, depth)
                continue
            if key in out:
                self._duplicate(knode, vnode, kpath)
                continue
            kmark = knode.start_mark
            key_pos[kpath] = Position(kmark.line + 1, kmark.column + 1)
            out[key] = build(vnode, kpath, depth)
        return out

    def _key(self, knode: yaml.Node) -> str:
        """A mapping key that is not a plain string (a number, a boolean...), as a string;
        merge keys are refused."""
        if knode.tag == _MERGE:
            raise self._err(knode, "YAML merge keys ('<<') are not supported")
        key = self._scalar(knode)
        return str(key).lower() if isinstance(key, bool) else str(key)

    def _repeated(
        self,
        out: dict[str, Any],
        key: str,
        knode: yaml.Node,
        vnode: yaml.Node,
        kpath: Path,
        depth: int,
    ) -> None:
        """Append the value of a ``repeatable`` key to its list in ``out`` (positions at
        ``(*kpath, i)``)."""
        items = out.get(key)
        kmark = knode.start_mark
        if items is None:
            items = out[key] = []
            self.key_pos[kpath] = Position(kmark.line + 1, kmark.column + 1)
        ipath = (*kpath, len(items))
        self.key_pos[ipath] = Position(kmark.line + 1, kmark.column + 1)
        items.append(self.build(vnode, ipath, depth))

    def _duplicate(self, knode: yaml.Node, vnode: yaml.Node, kpath: Path) -> None:
        """A key seen before in its mapping: recorded in ``duplicates`` when the caller
        collects them (the first value is kept), else an input error."""
        first = self.key_pos[kpath]
        if self.duplicates is None:
            raise self._err(
                knode, f"duplicate key {kpath[-1]!r} (first defined at line {first.line})"
            )
        kmark = knode.start_mark
        value = self._scalar(vnode) if vnode.__class__ is yaml.ScalarNode else ...
        self.duplicates.append(Duplicate(kpath, Position(kmark.line + 1, kmark.column + 1), value))

    def _scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            value = _BOOLS.get(node.value.lower())
            if value is not None:
                return value
        if tag not in _SCALAR_TAGS:
            raise self._err(node, f"unsupported tag {tag!r}: only plain YAML is accepted")
        if tag == f"{_STD}timestamp":
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as e:
            raise self._err(node, f"invalid value {_short(node.value)}: {_short(str(e))}") from None

    def _err(self, node: yaml.Node, message: str) -> InputError:
        m = node.start_mark
        return InputError(message, self.doc.file, m.line + 1, m.column + 1)


def _short(text: str, limit: int = 80) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters (messages stay one short line)."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 5] + "…" + r[-3:]


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_depth(text: str, file: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before anything recurses into it.

    libyaml's composer recurses in C (a few ten thousand levels overflow the stack) and its
    scanner re-examines every open flow level for each token (quadratic in the depth).
    Streaming the parser's events, which neither recurses nor expands aliases, and stopping
    at the first level too deep keeps both bounded: linear in the size of the text.
    """
    loader = _Loader(text)
    open_, close = _OPEN, _CLOSE
    depth = 0
    budget = MAX_EVENTS
    try:
        while True:
            event = loader.get_event()
            if event is None:
                return
            budget -= 1
            if budget < 0:
                m = event.start_mark
                line, col = (m.line + 1, m.column + 1) if m is not None else (1, 1)
                raise InputError(
                    f"more than {MAX_EVENTS:,} YAML/JSON elements: larger than topolint checks "
                    "in one file (a 60,000-process topology has 1.8 million); split it",
                    file,
                    line,
                    col,
                )
            cls = event.__class__
            if cls in open_:
                depth += 1
                if depth > MAX_DEPTH:
                    m = event.start_mark
                    line, col = (m.line + 1, m.column + 1) if m is not None else (1, 1)
                    raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file, line, col)
            elif cls in close:
                depth -= 1
    finally:
        loader.dispose()


def _count_nodes(node: yaml.Node, limit: int) -> int:
    """Count distinct nodes (aliases count once), iteratively; stop past ``limit``."""
    seen: set[int] = set()
    stack = [node]
    while stack and len(seen) <= limit:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append(k)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return len(seen)


def _suppressions(text: str) -> list[Suppression]:
    out: list[Suppression] = []
    if "topolint:" not in text:
        return out
    for i, line in enumerate(text.splitlines(), start=1):
        if "#" not in line:
            continue
        m = SUPPRESS_RE.search(line)
        if m:
            rules = tuple(r.strip() for r in (m.group(2) or "").split(",") if r.strip())
            out.append(Suppression(i, rules, m.group(3).strip(), m.group(1) == "ignore-file"))
    return out


class ReadRefused(Exception):
    """A file that :func:`read_bounded` will not read; ``str()`` says why, without the name.

    ``reason`` is ``unreadable`` (the system refused: missing, permissions),
    ``not-regular`` (a pipe, device, socket or folder) or ``too-large``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_bounded(path: FsPath | str, limit: int = MAX_FILE_BYTES, *, head: bool = False) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    The one way topolint reads a file it was pointed at (topologies, configuration found
    upwards, baselines, schema files): a named pipe, a device (``/dev/zero``), a socket or
    a folder is refused without reading, and so is a file over ``limit``.  The file is
    opened with ``O_NONBLOCK`` (opening a FIFO never waits for a writer), checked with
    ``fstat`` on the opened descriptor (no race with a swapped path), and at most
    ``limit + 1`` bytes are read (a file that grows while it is read is refused too).
    With ``head=True`` a larger regular file is not refused: its first ``limit`` bytes are
    returned.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise ReadRefused("is a directory", "not-regular") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        raise ReadRefused(
            f"cannot read file: {getattr(e, 'strerror', None) or e}", "unreadable"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadRefused(f"not a regular file ({_file_kind(st.st_mode)})", "not-regular")
        if st.st_size > limit and not head:
            raise ReadRefused(f"file too large ({st.st_size} bytes; limit {limit})", "too-large")
        chunks: list[bytes] = []
        got = 0
        want = limit if head else limit + 1
        while got < want:
            chunk = os.read(fd, min(want - got, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit and not head:
            raise ReadRefused(
                f"file too large (more than {limit} bytes; limit {limit})", "too-large"
            )
        return b"".join(chunks)
    except OSError as e:
        raise ReadRefused(f"cannot read file: {e.strerror or e}", "unreadable") from None
    finally:
        os.close(fd)


def is_regular_file(path: FsPath | str) -> bool:
    """Is ``path`` (following symlinks) a regular file?  ``stat`` only: nothing is opened."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


def read_text(
    path: FsPath, display: str, *, limit: int = MAX_FILE_BYTES, what: str | None = None
) -> str:
    """Read a file as text (:func:`read_bounded`, :func:`decode_text`), as an
    :class:`InputError` on any failure.

    ``what`` names a file that is not a topology in the message (``cannot read
    configuration: …``); a topology's own messages say what was expected of it.
    """
    try:
        raw = read_bounded(path, limit)
    except ReadRefused as e:
        message = str(e)
        if what is not None:
            message = f"cannot read {what}: {message.removeprefix('cannot read file: ')}"
        elif message in ("is a directory", "not a regular file (a directory)"):
            message = "is a directory, expected a topology file"
        raise InputError(message, display) from None
    return decode_text(raw, display)


def decode_text(raw: bytes, display: str) -> str:
    """Decode a file's bytes (UTF-8, or UTF-16/32 with a byte-order mark) as text; an
    :class:`InputError` located at the first bad byte otherwise."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec)
            except UnicodeDecodeError as e:
                raise InputError(
                    f"file is not valid {codec.upper()} text (byte {e.start + len(bom)})", display
                ) from None
    head = raw[:8192]
    if b"\x00" in head:
        if len(head) >= 4 and (
            head[1::2].count(0) > len(head) // 4 or head[::2].count(0) > len(head) // 4
        ):
            raise InputError(
                "file looks UTF-16 encoded without a byte-order mark: save it as UTF-8",
                display,
                1,
                1,
            )
        raise InputError("binary file, expected YAML or JSON text", display, 1, 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"file is not valid UTF-8 text (byte 0x{raw[e.start]:02x}; Latin-1 or another "
            "legacy encoding?): save it as UTF-8",
            display,
            line,
            col,
        ) from None


def load_text(
    text: str,
    file: str,
    fmt: str | None = None,
    *,
    repeatable: frozenset[str] = frozenset(),
    duplicates: list[Duplicate] | None = None,
) -> Document:
    """Parse ``text`` (YAML, or JSON when ``fmt == "json"`` or the name ends in .json).

    Duplicate keys are input errors, with two exceptions for formats whose readers keep
    every repetition of a key (FairMQ's legacy JSON, read by boost property_tree): a key in
    ``repeatable`` always becomes a list of its values (``{"device": {...}, "device": {...}}``
    reads as ``{"device": [{...}, {...}]}``, positions at ``(..., "device", i)``), and when a
    ``duplicates`` list is given, other repetitions are appended to it (the first value is
    kept) for the caller to judge.
    """
    if fmt is None:
        fmt = "json" if file.endswith(".json") else "yaml"
    doc = Document(file=file, text=text, data=None, format=fmt)
    if not text.strip():
        raise InputError("empty file, expected a topology", file, 1, 1)
    if fmt == "json":
        text = _checked_json(text, file)
    node = _compose(text, file)
    if node is None:
        raise InputError("empty document, expected a topology", file, 1, 1)
    # Without '&' there is no anchor, so no alias: nothing can expand.
    aliases = "&" in text
    n = _count_nodes(node, 50_000_000) if aliases else 0
    try:
        doc.data = _Builder(doc, n, aliases, repeatable, duplicates).build(node, (), 0)
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file, 1, 1) from None
    doc.suppressions = _suppressions(doc.text)
    return doc


def _checked_json(text: str, file: str) -> str:
    """Refuse ``text`` unless it is valid JSON of a bounded size (each error at its line and
    column); returns it ready for the YAML parser (tabs, whitespace in JSON, as spaces)."""
    # json.loads builds every element first: count them (an upper bound) before that
    if text.count(",") + text.count("[") + text.count("{") > MAX_EVENTS:
        raise InputError(
            f"more than {MAX_EVENTS:,} JSON elements: larger than topolint checks in one "
            "file (a 60,000-process topology has 1.8 million); split it",
            file,
            1,
            1,
        )
    try:
        json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", file, e.lineno, e.colno) from None
    except RecursionError:
        raise InputError("invalid JSON: nesting too deep", file, 1, 1) from None
    except ValueError as e:
        raise InputError(f"invalid JSON: {e}", file, 1, 1) from None
    # A valid JSON text holds literal tabs only as whitespace: YAML does not like them.
    return text.replace("\t", " ")


def _compose(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (``None`` for an empty document); every parser error
    becomes an :class:`InputError` at its line and column."""
    try:
        _check_depth(text, file)
        loader = _CachingLoader(text)
        try:
            node: yaml.Node | None = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as e:
        pos = e.position if isinstance(e.position, int) else 0
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        what = f"character #x{e.character:04x}" if isinstance(e.character, int) else "character"
        raise InputError(
            f"invalid YAML: unacceptable {what}: {e.reason}", file, line, col
        ) from None
    except yaml.MarkedYAMLError as e:
        raise _yaml_error(e, file) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}", file) from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file, 1, 1) from None
    return node


def _yaml_error(e: yaml.MarkedYAMLError, file: str) -> InputError:
    """A parser error as an input error at its mark (libyaml's nesting limit named as
    topolint's)."""
    mark = e.problem_mark or e.context_mark
    problem = e.problem or e.context or "invalid YAML"
    if "maximum nesting depth" in problem:  # libyaml's own limit (PyYAML >= 6.0.4)
        problem = f"nesting deeper than {MAX_DEPTH} levels"
        if mark is not None:
            return InputError(problem, file, mark.line + 1, mark.column + 1)
    if mark is None:
        return InputError(f"invalid YAML: {problem}", file)
    return InputError(f"invalid YAML: {problem}", file, mark.line + 1, mark.column + 1)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_file(path: FsPath, display: str | None = None) -> Document:
    """Read and parse one file."""
    display = display or str(path)
    text = read_text(path, display)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return load_text(text, display, fmt)
