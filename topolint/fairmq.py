"""FairMQ JSON channel configurations, mapped onto the native topology model.

A FairMQ file (``{"fairMQOptions": {"devices": [...]}}``) becomes a native topology
(format version 1) that the rest of topolint treats like any other; every element of the
result keeps the position of the FairMQ element it came from, so findings point into the
FairMQ file.

Mapping (field meanings and defaults from FairMQ's ``JSONParser.cxx`` and ``Channel.cxx``):

* each device is a process, named by its ``key`` when present, else by its ``id``;
* each channel is one socket named like the channel.  A channel with ``numSockets: N``
  (N > 0, which wins over ``sockets``) or with several ``sockets`` entries becomes N sockets
  named ``<channel>-0``, ``<channel>-1``, ... (FairMQ calls them ``<channel>[0]``...; native
  socket names may not contain ``.`` or ``[``).  Channel-level fields are defaults that each
  ``sockets`` entry inherits and may override;
* ``address`` holds one endpoint or several separated by ``,`` (or ``;``); a leading ``@``
  binds, ``+`` or ``>`` connects, overriding ``method``.  Endpoints go to ``bind:`` /
  ``connect:`` (a list when there are several).  A channel without an address (filled in at
  run time, e.g. by DDS) becomes a socket without endpoints;
* ``sndBufSize`` / ``rcvBufSize`` become ``sndhwm`` / ``rcvhwm`` (FairMQ's default 1000 when
  absent), non-zero ``sndKernelSize`` / ``rcvKernelSize`` become ``sndbuf`` / ``rcvbuf``,
  ``linger`` (ms, default 500) becomes a duration such as ``500ms`` (``infinite`` for -1);
* FairMQ SUB sockets subscribe to everything: ``subscribe: [""]``;
* an explicit transport other than ``default`` is kept as ``x-transport`` on the socket.

Numbers may be written as strings, as FairMQ allows.  What FairMQ cannot say (message
types and sizes, owners, rates, service times, end-of-data behaviour, hosts) stays absent.
Unknown keys are ignored, as FairMQ does, except near-misses of known keys (``adress``),
which are input errors.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import yaml

from topolint.errors import InputError
from topolint.findings import Path, Position
from topolint.loader import Document
from topolint.sockets import SOCKET_TYPES

METHODS = ("bind", "connect")
TRANSPORTS = ("default", "zeromq", "shmem", "nanomsg", "ofi")
#: FairMQ's defaults (``fair::mq::Channel``).
DEFAULT_BUF_SIZE = 1000
DEFAULT_LINGER_MS = 500
#: More sub-sockets than this in one channel is taken as a mistake, not a topology.
MAX_SOCKETS = 100_000

#: Integer fields of a channel or ``sockets`` entry (FairMQ reads them with ``get<int>``).
INT_FIELDS = (
    "sndBufSize",
    "rcvBufSize",
    "sndKernelSize",
    "rcvKernelSize",
    "linger",
    "rateLogging",
    "portRangeMin",
    "portRangeMax",
    "sndTimeoutMs",
    "rcvTimeoutMs",
)
_NON_NEGATIVE = ("sndBufSize", "rcvBufSize", "sndKernelSize", "rcvKernelSize", "rateLogging")
SOCKET_FIELDS = ("type", "method", "address", "transport", "autoBind", *INT_FIELDS)
CHANNEL_FIELDS = ("name", "numSockets", "sockets", *SOCKET_FIELDS)
DEVICE_FIELDS = ("id", "key", "channels")
_ENDPOINT_SCHEMES = ("tcp://", "ipc://", "inproc://")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_CHANNEL_NAME_BAD = re.compile(r"[^a-zA-Z0-9\-_\[\]#]")


def is_fairmq(data: object) -> bool:
    """Is this loaded data a FairMQ channel configuration (a mapping with ``fairMQOptions``)?"""
    return isinstance(data, dict) and "fairMQOptions" in data


@dataclass
class _Out:
    """The native document being built: data plus positions for every path."""

    value_pos: dict[Path, Position] = field(default_factory=dict)
    key_pos: dict[Path, Position] = field(default_factory=dict)

    def put(
        self,
        parent: dict[str, Any],
        path: Path,
        key: str,
        value: Any,
        vpos: Position,
        kpos: Position,
    ) -> None:
        parent[key] = value
        self.value_pos[(*path, key)] = vpos
        self.key_pos[(*path, key)] = kpos


class _Importer:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.out = _Out()
        self._lines: list[str] | None = None

    # -- positions --------------------------------------------------------------------

    def vpos(self, path: Path) -> Position:
        return self.doc.value_position(path)

    def kpos(self, path: Path) -> Position:
        """Where the key of ``path`` is (falls back to its value, then its ancestors)."""
        return self.doc.position(path)

    def err(self, path: Path, message: str, *, key: bool = False) -> InputError:
        pos = self.kpos(path) if key else self.vpos(path)
        return InputError(message, self.doc.file, pos.line, pos.column)

    def piece_pos(self, path: Path, offset: int, piece: str) -> Position:
        """Position of ``piece``, found at ``offset`` inside the string value at ``path``.

        Exact when the JSON string is written without escapes before the piece; otherwise
        the position of the whole string.
        """
        start = self.vpos(path)
        if self._lines is None:
            self._lines = self.doc.text.splitlines()
        if 1 <= start.line <= len(self._lines):
            line = self._lines[start.line - 1]
            col = start.column + offset  # start.column is the opening quote (1-based)
            if (
                line[start.column - 1 : start.column] in ('"', "'")
                and line[col : col + len(piece)] == piece
            ):
                return Position(start.line, col + 1)
        return start

    # -- FairMQ values ----------------------------------------------------------------

    def check_keys(
        self, obj: dict[str, Any], path: Path, known: tuple[str, ...], what: str
    ) -> None:
        for k in obj:
            if k in known:
                continue
            close = difflib.get_close_matches(k, known, n=1, cutoff=0.8)
            if close:
                raise self.err(
                    (*path, k),
                    f"unknown FairMQ {what} key {k!r}; did you mean {close[0]!r}?",
                    key=True,
                )

    def integer(self, path: Path, value: Any, name: str) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, str))
            or (isinstance(value, str) and not _INT_RE.match(value))
        ):
            raise self.err(
                path, f"{name}: expected a whole number (or a string holding one), got {value!r}"
            )
        n = int(value)
        if not _INT_MIN <= n <= _INT_MAX:
            raise self.err(path, f"{name}: {n} is out of range for a 32-bit integer")
        return n

    def string(self, path: Path, value: Any, name: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.err(path, f"{name}: expected a string, got {value!r}")
        return str(value)

    # -- structure --------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        data = self.doc.data
        root_key: Path = ("fairMQOptions",)
        opts = data["fairMQOptions"]
        if not isinstance(opts, dict):
            raise self.err(root_key, "fairMQOptions: expected a mapping with a 'devices' list")
        devices = opts.get("devices")
        dpath: Path = (*root_key, "devices")
        if devices is None:
            self.check_keys(opts, root_key, ("devices",), "option")
            raise self.err(
                root_key, "fairMQOptions has no 'devices': expected a list of devices", key=True
            )
        if not isinstance(devices, list) or not devices:
            raise self.err(dpath, "fairMQOptions.devices: expected a non-empty list of devices")

        top = self.kpos(root_key)
        native: dict[str, Any] = {}
        self.out.value_pos[()] = self.vpos(())
        self.out.put(native, (), "topolint", 1, top, top)
        self.out.put(native, (), "name", PurePath(self.doc.file).stem or "fairmq", top, top)
        source = {"source": PurePath(self.doc.file).name, "devices": len(devices)}
        self.out.put(native, (), "x-fairmq", source, top, top)
        for k in source:
            self.out.put(source, ("x-fairmq",), k, source[k], top, top)
        processes: dict[str, Any] = {}
        self.out.put(native, (), "processes", processes, self.vpos(dpath), self.kpos(dpath))

        first: dict[str, Path] = {}
        for i, dev in enumerate(devices):
            self.device(processes, (*dpath, i), dev, first)
        return native

    def device(
        self, processes: dict[str, Any], path: Path, dev: Any, first: dict[str, Path]
    ) -> None:
        if not isinstance(dev, dict):
            raise self.err(path, "device: expected a mapping with 'id' (or 'key') and 'channels'")
        self.check_keys(dev, path, DEVICE_FIELDS, "device")
        which = "key" if "key" in dev else "id"
        if which not in dev:
            raise self.err(
                path, "device without 'id' or 'key': FairMQ picks devices by key, else by id"
            )
        fmq_name = self.string((*path, which), dev[which], f"device {which}")
        if not fmq_name:
            raise self.err((*path, which), f"device {which} is empty")
        if fmq_name in first:
            line = self.vpos(first[fmq_name]).line
            raise self.err(
                (*path, which),
                f"duplicate device {which} {fmq_name!r} (first defined at line {line})",
            )
        first[fmq_name] = (*path, which)
        name = _unique(_sanitize(fmq_name), processes)

        ppath: Path = ("processes", name)
        proc: dict[str, Any] = {}
        self.out.put(
            processes, ("processes",), name, proc, self.vpos(path), self.vpos((*path, which))
        )
        meta: dict[str, Any] = {}
        self.out.put(proc, ppath, "x-fairmq", meta, self.vpos(path), self.vpos(path))
        for k in ("id", "key"):
            if k in dev:
                value = self.string((*path, k), dev[k], f"device {k}")
                self.out.put(
                    meta,
                    (*ppath, "x-fairmq"),
                    k,
                    value,
                    self.vpos((*path, k)),
                    self.kpos((*path, k)),
                )

        sockets: dict[str, Any] = {}
        cpath: Path = (*path, "channels")
        channels = dev.get("channels", [])
        if "channels" in dev:
            self.out.put(proc, ppath, "sockets", sockets, self.vpos(cpath), self.kpos(cpath))
        else:
            self.out.put(proc, ppath, "sockets", sockets, self.vpos(path), self.vpos(path))
        if not isinstance(channels, list):
            raise self.err(cpath, "channels: expected a list of channels")
        seen: dict[str, Path] = {}
        for j, ch in enumerate(channels):
            self.channel(sockets, (*ppath, "sockets"), (*cpath, j), ch, seen)

    def channel(
        self, sockets: dict[str, Any], spath: Path, path: Path, ch: Any, seen: dict[str, Path]
    ) -> None:
        if not isinstance(ch, dict):
            raise self.err(path, "channel: expected a mapping with at least 'name'")
        self.check_keys(ch, path, CHANNEL_FIELDS, "channel")
        if "name" not in ch:
            raise self.err(path, "channel without 'name'")
        npath: Path = (*path, "name")
        cname = self.string(npath, ch["name"], "channel name")
        bad = _CHANNEL_NAME_BAD.search(cname)
        if not cname or bad:
            detail = f"illegal character {bad.group(0)!r}" if bad else "it is empty"
            raise self.err(
                npath,
                f"invalid channel name {cname!r}: {detail}; "
                "FairMQ allows a-z, A-Z, 0-9, -, _, [, ], #",
            )
        if cname in seen:
            line = self.vpos(seen[cname]).line
            raise self.err(
                npath, f"duplicate channel {cname!r} in this device (first at line {line})"
            )
        seen[cname] = npath

        num = 0
        if "numSockets" in ch:
            num = self.integer((*path, "numSockets"), ch["numSockets"], "numSockets")
            if num > MAX_SOCKETS:
                raise self.err(
                    (*path, "numSockets"), f"numSockets {num} is more than {MAX_SOCKETS}"
                )
        entries: list[tuple[Path | None, dict[str, Any]]]
        if num > 0:  # FairMQ: numSockets wins over a 'sockets' list
            entries = [(None, {})] * num
        else:
            subs = ch.get("sockets")
            if subs is None:
                subs = []
            if not isinstance(subs, list):
                raise self.err((*path, "sockets"), "sockets: expected a list of socket entries")
            entries = []
            for k, sub in enumerate(subs):
                entry: Path = (*path, "sockets", k)
                if not isinstance(sub, dict):
                    raise self.err(entry, "socket entry: expected a mapping")
                self.check_keys(sub, entry, SOCKET_FIELDS, "socket")
                entries.append((entry, sub))
            if not entries:
                entries = [(None, {})]

        base = _sanitize(cname)
        name_pos = self.vpos(npath)
        for idx, (sub_path, sub) in enumerate(entries):
            multi = len(entries) > 1
            sname = _unique(f"{base}-{idx}" if multi else base, sockets)
            where = sub_path if sub_path is not None else path
            sock: dict[str, Any] = {}
            self.out.put(
                sockets,
                spath,
                sname,
                sock,
                self.vpos(where),
                name_pos if not multi else self.vpos(where),
            )
            self.socket(
                sock, (*spath, sname), path, ch, sub_path, sub, cname, idx if multi else None
            )

    def field(
        self,
        chan_path: Path,
        ch: dict[str, Any],
        sub_path: Path | None,
        sub: dict[str, Any],
        key: str,
    ) -> tuple[Any, Path | None]:
        """The effective value of ``key`` (socket entry over channel) and where it is written."""
        if sub_path is not None and key in sub:
            return sub[key], (*sub_path, key)
        if key in ch:
            return ch[key], (*chan_path, key)
        return None, None

    def socket(
        self,
        sock: dict[str, Any],
        path: Path,
        chan_path: Path,
        ch: dict[str, Any],
        sub_path: Path | None,
        sub: dict[str, Any],
        cname: str,
        index: int | None,
    ) -> None:
        where = sub_path if sub_path is not None else chan_path
        here = self.vpos(where)
        label = f"channel {cname!r}" + (f" socket {index}" if index is not None else "")

        def get(key: str) -> tuple[Any, Path | None]:
            return self.field(chan_path, ch, sub_path, sub, key)

        def put(key: str, value: Any, src: Path | None) -> None:
            if src is None:
                self.out.put(sock, path, key, value, here, here)
            else:
                self.out.put(sock, path, key, value, self.vpos(src), self.kpos(src))

        ints: dict[str, tuple[int | None, Path | None]] = {}
        for key in INT_FIELDS:
            raw, src = get(key)
            if src is None:
                ints[key] = (None, None)
                continue
            n = self.integer(src, raw, key)
            if key in _NON_NEGATIVE and n < 0:
                raise self.err(src, f"{key} must not be negative (got {n})")
            ints[key] = (n, src)

        raw_type, type_src = get("type")
        if type_src is None:
            raise self.err(
                where, f"{label} has no 'type': expected one of {', '.join(SOCKET_TYPES)}"
            )
        stype = self.string(type_src, raw_type, "type")
        if stype not in SOCKET_TYPES:
            msg = f"unknown socket type {stype!r}: expected one of {', '.join(SOCKET_TYPES)}"
            close = difflib.get_close_matches(stype.lower(), SOCKET_TYPES, n=1, cutoff=0.6)
            raise self.err(type_src, msg + (f"; did you mean {close[0]!r}?" if close else ""))
        put("type", stype, type_src)

        raw_transport, transport_src = get("transport")
        transport = "default"
        if transport_src is not None:
            transport = self.string(transport_src, raw_transport, "transport")
            if transport not in TRANSPORTS:
                raise self.err(
                    transport_src,
                    f"unknown transport {transport!r}: expected one of {', '.join(TRANSPORTS)}",
                )

        self.endpoints(sock, path, get, label)

        snd, snd_src = ints["sndBufSize"]
        rcv, rcv_src = ints["rcvBufSize"]
        put("sndhwm", DEFAULT_BUF_SIZE if snd is None else snd, snd_src)
        put("rcvhwm", DEFAULT_BUF_SIZE if rcv is None else rcv, rcv_src)
        for fmq_key, native_key in (("sndKernelSize", "sndbuf"), ("rcvKernelSize", "rcvbuf")):
            size, src = ints[fmq_key]
            if size:  # 0 or absent: the OS default
                put(native_key, size, src)
        linger, linger_src = ints["linger"]
        put("linger", _linger(DEFAULT_LINGER_MS if linger is None else linger), linger_src)
        if stype == "sub":  # FairMQ SUB sockets subscribe to everything
            put("subscribe", [""], type_src)
            self.out.value_pos[(*path, "subscribe", 0)] = self.vpos(type_src)
        if transport != "default":
            put("x-transport", transport, transport_src)
        if index is not None:
            meta = {"channel": cname, "index": index}
            put("x-fairmq", meta, None)
            for k, v in meta.items():
                self.out.put(meta, (*path, "x-fairmq"), k, v, here, here)

    def endpoints(
        self,
        sock: dict[str, Any],
        path: Path,
        get: Callable[[str], tuple[Any, Path | None]],
        label: str,
    ) -> None:
        raw_addr, addr_src = get("address")
        if addr_src is None:
            return  # set at run time (DDS, command line): no endpoint to wire
        address = self.string(addr_src, raw_addr, "address")
        if address in ("", "unspecified"):
            return
        raw_method, method_src = get("method")
        method = None if method_src is None else self.string(method_src, raw_method, "method")
        found: dict[str, list[tuple[str, Position]]] = {"bind": [], "connect": []}
        pieces = list(_split_endpoints(address))
        for offset, piece in pieces:
            # one endpoint: the address value itself; several: each inside the string
            pos = (
                self.vpos(addr_src) if len(pieces) == 1 else self.piece_pos(addr_src, offset, piece)
            )
            if not piece:
                raise InputError(
                    f"{label}: empty endpoint in address {address!r}",
                    self.doc.file,
                    pos.line,
                    pos.column,
                )
            if piece[0] in "@+>":
                kind, endpoint = ("bind" if piece[0] == "@" else "connect"), piece[1:]
            else:
                if method not in METHODS:
                    at = method_src if method_src is not None else addr_src
                    what = f"invalid method {method!r}" if method is not None else "no 'method'"
                    raise self.err(
                        at,
                        f"{label}: {what} for endpoint {piece!r}: expected 'bind' or 'connect', or "
                        "prefix the endpoint with '@' (bind) or '+' / '>' (connect)",
                    )
                kind, endpoint = method, piece
            if not endpoint.startswith(_ENDPOINT_SCHEMES):
                raise InputError(
                    f"{label}: endpoint {endpoint!r} has no transport: expected tcp://HOST:PORT, "
                    "ipc://PATH or inproc://NAME",
                    self.doc.file,
                    pos.line,
                    pos.column,
                )
            rest = endpoint.split("://", 1)[1]
            if not rest:
                raise InputError(
                    f"{label}: endpoint {endpoint!r} has an empty address",
                    self.doc.file,
                    pos.line,
                    pos.column,
                )
            if endpoint.startswith("tcp://") and ":" not in rest:
                raise InputError(
                    f"{label}: endpoint {endpoint!r} has no port",
                    self.doc.file,
                    pos.line,
                    pos.column,
                )
            found[kind].append((endpoint, pos))
        key_pos = self.kpos(addr_src)
        for kind in ("bind", "connect"):
            eps = found[kind]
            if not eps:
                continue
            if len(eps) == 1:
                self.out.put(sock, path, kind, eps[0][0], eps[0][1], key_pos)
            else:
                self.out.put(sock, path, kind, [e for e, _ in eps], self.vpos(addr_src), key_pos)
                for i, (_, pos) in enumerate(eps):
                    self.out.value_pos[(*path, kind, i)] = pos


def _split_endpoints(address: str) -> Iterator[tuple[int, str]]:
    """Split a FairMQ address at ``,`` / ``;``, yielding (offset, piece)."""
    offset = 0
    for piece in re.split(r"[,;]", address):
        yield offset, piece
        offset += len(piece) + 1


def _linger(ms: int) -> str | int:
    if ms < 0:
        return "infinite"
    return f"{ms}ms"


def _sanitize(name: str) -> str:
    """A native process or socket name: no ``.``, ``[`` or ``]`` (``a[0]`` becomes ``a-0``)."""
    return name.replace(".", "_").replace("[", "-").replace("]", "")


def _unique(name: str, taken: dict[str, Any]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}-{k}" in taken:
        k += 1
    return f"{name}-{k}"


def to_native(doc: Document) -> Document:
    """Map a loaded FairMQ document onto a native topology document.

    The result has the same file, text, format and suppressions; its ``data`` is a native
    topology (format version 1) and its position maps send every native path to the FairMQ
    element it came from.  Structural problems raise :class:`InputError` with a location.
    """
    if not is_fairmq(doc.data):
        raise InputError(
            "not a FairMQ configuration: expected a 'fairMQOptions' key", doc.file, 1, 1
        )
    imp = _Importer(doc)
    native = imp.run()
    return Document(
        file=doc.file,
        text=doc.text,
        data=native,
        value_pos=imp.out.value_pos,
        key_pos=imp.out.key_pos,
        suppressions=doc.suppressions,
        format=doc.format,
    )


# -- YAML output ---------------------------------------------------------------------------

_HEADER = """\
# Imported from the FairMQ channel configuration {source}
# by `topolint import fairmq`. FairMQ files do not say message types and sizes, owners,
# rates, service times or end-of-data behaviour: add them (sends/receives, messages, owner,
# rate, service_time, end_of_data) to let every rule and the memory bound work.
"""


try:  # libyaml's emitter is several times faster
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    """Block style, but lists of scalars on one line (``subscribe: ['']``)."""


def _represent_list(dumper: Any, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(x, (str, int, float, bool)) or x is None for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def to_yaml(native: dict[str, Any]) -> str:
    """The native topology as human-friendly YAML (block style, keys in the given order)."""
    body = yaml.dump(
        native,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
    meta = native.get("x-fairmq")
    source = meta.get("source") if isinstance(meta, dict) else None
    if source is None:
        return body
    return _HEADER.format(source=" ".join(str(source).split())) + body
