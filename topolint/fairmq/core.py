"""What every FairMQ form says, and how it maps onto the native topology.

The three readers (:mod:`.json_config`, :mod:`.cmdline`, :mod:`.dds`) each turn their form
into a :class:`Launch`: devices with their channels, every value with the position it was
written at.  :func:`to_document` maps a launch onto a native topology (format version 1)
whose position maps point back into the original file, so findings about the native
elements land on the FairMQ text.

Mapping (field meanings and defaults from FairMQ's ``JSONParser.cxx``, ``Channel.cxx`` and
``SuboptParser.cxx``):

* a device is a process named by its id (its DDS task name for DDS topologies); replicas
  come from the launch (``<group n=…>``);
* a channel is one socket named like the channel.  ``numSockets: N`` is counted, not
  expanded (``x-fairmq: {sockets: N}``); explicit sub-sockets (a ``sockets`` list, several
  ``address=`` in a command line) become sockets ``<channel>-0``, ``<channel>-1``…;
* ``sndBufSize`` / ``rcvBufSize`` are high-water marks in messages (default 1000),
  ``sndKernelSize`` / ``rcvKernelSize`` kernel buffers in bytes (0 = system default),
  ``linger`` in ms (default 500);
* the transport of every socket is kept as ``x-transport`` (channel's, else the device's
  ``--transport``, else ``zeromq``);
* a connecting channel whose address is assigned at run time (DDS/ODC plugin, or no
  address) meets the binding channels of the same name: written as logical references
  ``connect: device.channel``.  A binding channel without address binds wherever the
  plugin says: no endpoint;
* an address holding a placeholder that no ``--var`` resolves (``$PORT``, ``@VAR@``,
  ``%taskIndex%``) is unknown.  A connect whose text is identical to a bind's (the same
  unresolved expression) meets that bind; otherwise it is left unwired, not guessed.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from topolint.errors import InputError, NoDevices  # noqa: F401 (re-exported)
from topolint.lint.findings import Path, Position
from topolint.lint.loader import Document, Suppression
from topolint.lint.sockets import RECEIVERS, SENDERS, SOCKET_TYPES

METHODS = ("bind", "connect")
#: The variable that gives FairMQ messages a size (``--var message-size=10kB``,
#: ``analyze --message-size``, or ``variables`` in the configuration).
MESSAGE_SIZE_VAR = "message-size"
TRANSPORTS = ("default", "zeromq", "shmem", "nanomsg", "ofi")
#: FairMQ's defaults (``fair::mq::Channel``).
DEFAULT_BUF_SIZE = 1000
DEFAULT_LINGER_MS = 500
DEFAULT_TRANSPORT = "zeromq"
#: More sub-sockets than this in one channel is taken as a mistake, not a topology.
MAX_SOCKETS = 100_000
#: Sub-sockets in one topology (``numSockets`` summed over channels and replicas).
MAX_TOTAL_SOCKETS = 1_000_000

#: Integer fields of a channel or sub-socket (FairMQ reads them with ``get<int>``).
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
_ENDPOINT_SCHEMES = ("tcp://", "ipc://", "inproc://")
_INT_RE = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_CHANNEL_NAME_BAD = re.compile(r"[^a-zA-Z0-9\-_\[\]#]")
#: Placeholders a launch leaves to its runner: shell ``$X`` / ``${X}`` / ``$((…))`` /
#: ``$(…)``, CMake ``@X@``, DDS ``%taskIndex%`` / ``%collectionIndex%``.
PLACEHOLDER = re.compile(
    r"\$\(\([^)]*\)\)|\$\([^)]*\)|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)"
    r"|@([A-Za-z_][A-Za-z0-9_]*)@|%([A-Za-z_][A-Za-z0-9_]*)%"
)


@dataclass(frozen=True)
class Val:
    """A value as written: text or number, where it is and where its key is."""

    value: Any
    pos: Position
    key: Position


Fields = dict[str, Val]


@dataclass
class Channel:
    """One FairMQ channel: its fields and its explicit sub-sockets (field overrides)."""

    name: str
    pos: Position
    fields: Fields
    subs: list[tuple[Position, Fields]] = field(default_factory=list)


@dataclass
class Device:
    """One FairMQ device as a launch starts it (or as a catalogue lists it)."""

    name: str
    pos: Position
    channels: list[Channel] = field(default_factory=list)
    replicas: int = 1
    replicas_pos: Position | None = None
    transport: Val | None = None
    runtime_addresses: bool = False  # -P dds / -P odc: addresses come from the plugin
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Launch:
    """What one file says runs: its devices, and whether it is only a catalogue."""

    file: str
    text: str
    form: str  # json | cmdline | dds
    name: str
    devices: list[Device]
    catalogue: bool
    suppressions: list[Suppression] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: values the launch itself gives its placeholders (DDS ``<var>``); ``--var`` wins
    variables: dict[str, str] = field(default_factory=dict)


class SkipDevice(Exception):
    """A catalogue entry that cannot be a running device (e.g. a channel with an empty type)."""


def error(launch: Launch | str, pos: Position, message: str) -> InputError:
    """An input error at ``pos`` in the launch's file (or the file named)."""
    file = launch if isinstance(launch, str) else launch.file
    return InputError(message, file, pos.line, pos.column)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace the placeholders ``variables`` names; leave the others as written."""
    if not variables or not any(c in text for c in "$@%"):
        return text

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        return variables.get(name, m.group(0)) if name else m.group(0)

    return PLACEHOLDER.sub(repl, text)


def has_placeholder(text: str) -> bool:
    """Does ``text`` hold a placeholder no variable has replaced (``$X``, ``@X@``, ``%x%``…)?"""
    return any(c in text for c in "$@%") and PLACEHOLDER.search(text) is not None


def native_name(name: str) -> str:
    """A native process or socket name: no ``.``, ``[`` or ``]`` (``a[0]`` becomes ``a-0``)."""
    out = name.replace(".", "_").replace("[", "-").replace("]", "")
    return out or "_"


def unique(name: str, taken: Mapping[str, Any]) -> str:
    """``name``, or ``name-2``, ``name-3``… when it is taken."""
    if name not in taken:
        return name
    k = 2
    while f"{name}-{k}" in taken:
        k += 1
    return f"{name}-{k}"


def split_endpoints(address: str) -> Iterator[tuple[int, str]]:
    """Split a FairMQ address at ``,`` / ``;``, yielding (offset, piece)."""
    offset = 0
    for piece in re.split(r"[,;]", address):
        yield offset, piece
        offset += len(piece) + 1


# -- the native document ------------------------------------------------------------------


@dataclass
class _Out:
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

    def put_all(
        self, parent: dict[str, Any], path: Path, values: dict[str, Any], pos: Position
    ) -> None:
        for k, v in values.items():
            self.put(parent, path, k, v, pos, pos)


@dataclass
class _Entry:
    """One native socket being built: where it is and how it meets others."""

    device: Device
    process: str
    name: str
    channel: str
    type: str
    method: str | None
    data: dict[str, Any]
    path: Path
    pos: Position
    addresses: list[tuple[str, str, Position]]  # (method, endpoint text, position)
    unknown: list[tuple[str, str, Position]]  # addresses with unresolved placeholders
    runtime: bool  # address assigned at run time
    address_key: Position  # where the address key is written (the socket when none is)


class _Builder:
    def __init__(self, launch: Launch, variables: Mapping[str, str]) -> None:
        self.launch = launch
        self.variables = variables
        self.out = _Out()
        self.entries: list[_Entry] = []
        self.total_sockets = 0
        self.current = ""

    def err(self, pos: Position, message: str) -> InputError:
        return error(self.launch, pos, message)

    # -- values -----------------------------------------------------------------------

    def integer(self, v: Val, name: str) -> int:
        value = v.value
        if isinstance(value, str):
            value = substitute(value, self.variables)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, str))
            or (isinstance(value, str) and not _INT_RE.match(value))
        ):
            raise self.err(
                v.pos,
                f"{name}: expected a whole number (or a string holding one), got {_show(value)}",
            )
        n = int(value)
        if not _INT_MIN <= n <= _INT_MAX:
            raise self.err(v.pos, f"{name}: {n} is out of range for a 32-bit integer")
        return n

    def string(self, v: Val, name: str) -> str:
        if isinstance(v.value, bool) or not isinstance(v.value, (str, int)):
            raise self.err(v.pos, f"{name}: expected a string, got {_show(v.value)}")
        return substitute(str(v.value), self.variables)

    # -- structure --------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        launch = self.launch
        top = Position(1, 1)
        native: dict[str, Any] = {}
        self.out.value_pos[()] = top
        self.out.put(native, (), "topolint", 1, top, top)
        self.out.put(native, (), "name", launch.name, top, top)
        self.out.put(native, (), "runs", "continuous", top, top)
        meta: dict[str, Any] = {
            "source": launch.file.replace("\\", "/").rsplit("/", 1)[-1],
            "form": launch.form,
            "catalogue": launch.catalogue,
            "devices": len(launch.devices),
        }
        self.out.put(native, (), "x-fairmq", meta, top, top)
        size = self.variables.get(MESSAGE_SIZE_VAR)
        if size is not None:  # FairMQ cannot say message sizes: given with --var / --message-size
            messages = {"fairmq": {"max_size": size}}
            self.out.put(native, (), "messages", messages, top, top)
            self.out.put(messages, ("messages",), "fairmq", messages["fairmq"], top, top)
            self.out.put(messages["fairmq"], ("messages", "fairmq"), "max_size", size, top, top)
        processes: dict[str, Any] = {}
        self.out.put(native, (), "processes", processes, top, top)
        for dev in launch.devices:
            try:
                self.device(processes, dev)
            except SkipDevice as e:
                name = self.current
                del processes[name]
                self.entries = [x for x in self.entries if x.process != name]
                launch.notes.append(f"device {dev.name!r} (line {dev.pos.line}) left out: {e}")
        meta["devices"] = len(processes)  # those left out are in the notes
        if launch.notes:
            meta["notes"] = list(launch.notes)
        self.out.put_all(meta, ("x-fairmq",), meta, top)
        self.wire()
        return native

    def device(self, processes: dict[str, Any], dev: Device) -> None:
        name = self.current = unique(native_name(dev.name), processes)
        ppath: Path = ("processes", name)
        proc: dict[str, Any] = {}
        self.out.put(processes, ("processes",), name, proc, dev.pos, dev.pos)
        meta = {k: v for k, v in dev.meta.items() if v is not None}
        self.out.put(proc, ppath, "x-fairmq", meta, dev.pos, dev.pos)
        self.out.put_all(meta, (*ppath, "x-fairmq"), meta, dev.pos)
        if dev.replicas != 1:
            rpos = dev.replicas_pos or dev.pos
            self.out.put(proc, ppath, "replicas", dev.replicas, rpos, rpos)
        sockets: dict[str, Any] = {}
        self.out.put(proc, ppath, "sockets", sockets, dev.pos, dev.pos)
        seen: dict[str, Position] = {}
        for ch in dev.channels:
            if ch.name in seen:
                raise self.err(
                    ch.pos,
                    f"duplicate channel {ch.name!r} in device {dev.name!r} (first at line {seen[ch.name].line})",
                )
            seen[ch.name] = ch.pos
            self.channel(dev, name, sockets, (*ppath, "sockets"), ch)

    def channel(
        self, dev: Device, process: str, sockets: dict[str, Any], spath: Path, ch: Channel
    ) -> None:
        cname = substitute(ch.name, self.variables)
        bad = _CHANNEL_NAME_BAD.search(cname)
        if (not cname or bad) and not has_placeholder(cname):
            detail = f"illegal character {bad.group(0)!r}" if bad else "it is empty"
            raise self.err(
                ch.pos,
                f"invalid channel name {cname!r}: {detail}; FairMQ allows a-z, A-Z, 0-9, -, _, [, ], #",
            )
        num = 0
        if "numSockets" in ch.fields:
            num = self.integer(ch.fields["numSockets"], "numSockets")
            if num > MAX_SOCKETS or num < 0:
                raise self.err(
                    ch.fields["numSockets"].pos,
                    f"numSockets {num} is outside 0..{MAX_SOCKETS:,} (sub-sockets of one channel)",
                )
        # FairMQ: numSockets wins over a sockets list
        subs: list[tuple[Position, Fields]] = [] if num > 0 else ch.subs
        count = max(num, 1) * dev.replicas
        self.total_sockets += count if subs == [] else len(subs) * dev.replicas
        if self.total_sockets > MAX_TOTAL_SOCKETS:
            raise self.err(
                ch.pos,
                f"the devices open more than {MAX_TOTAL_SOCKETS:,} sockets in all (numSockets "
                "and sub-sockets times replicas): more than topolint analyses in one topology",
            )
        entries = subs or [(ch.pos, {})]
        multi = len(entries) > 1
        base = native_name(cname)
        for idx, (pos, sub) in enumerate(entries):
            sname = unique(f"{base}-{idx}" if multi else base, sockets)
            fields = {**ch.fields, **sub}
            self.socket(
                dev, process, sockets, spath, sname, cname, pos, fields, num, idx if multi else None
            )

    def socket(
        self,
        dev: Device,
        process: str,
        sockets: dict[str, Any],
        spath: Path,
        sname: str,
        cname: str,
        pos: Position,
        fields: Fields,
        num: int,
        index: int | None,
    ) -> None:
        """Write one native socket ``sname`` for channel ``cname`` (sub-socket ``index``)
        from its effective ``fields``, and remember how it meets others (:meth:`wire`)."""
        label = f"channel {cname!r}" + (f" socket {index}" if index is not None else "")
        ints = self.integers(fields)
        stype, tval = self.socket_type(fields, label, pos)
        transport, tr_val = self.transport(fields, dev)
        method = self.method(fields, label, pos)
        path: Path = (*spath, sname)
        sock: dict[str, Any] = {}
        self.out.put(sockets, spath, sname, sock, pos, pos)

        def put(key: str, value: Any, v: Val | None) -> None:
            where = tval if v is None else v
            self.out.put(sock, path, key, value, where.pos, where.pos if v is None else v.key)

        put("type", stype, tval)
        if MESSAGE_SIZE_VAR in self.variables:
            if stype in SENDERS:
                put("sends", "fairmq", None)
            if stype in RECEIVERS:
                put("receives", "fairmq", None)
        addresses, unknown, runtime = self.addresses(fields, method, label, dev, pos)
        aval = fields.get("address")
        self.entries.append(
            _Entry(
                dev,
                process,
                sname,
                cname,
                stype,
                method,
                sock,
                path,
                pos,
                addresses,
                unknown,
                runtime,
                aval.key if aval is not None else pos,
            )
        )
        self.options(put, ints, stype, tval, path)
        if transport is not None:
            put("x-transport", transport, tr_val)
        meta: dict[str, Any] = {"channel": cname}
        if num > 0:
            meta["sockets"] = num
        if index is not None:
            meta["index"] = index
        if runtime:
            meta["address"] = "assigned at run time"
        elif unknown:
            meta["address"] = "unknown: " + ", ".join(t for _, t, _ in unknown)
        put("x-fairmq", meta, None)
        for k, v in meta.items():
            self.out.put(meta, (*path, "x-fairmq"), k, v, pos, pos)

    def integers(self, fields: Fields) -> dict[str, tuple[int, Val] | None]:
        """The integer fields that are written, checked (32-bit; sizes not negative)."""
        ints: dict[str, tuple[int, Val] | None] = {}
        for key in INT_FIELDS:
            v = fields.get(key)
            if v is None:
                ints[key] = None
                continue
            n = self.integer(v, key)
            if key in _NON_NEGATIVE and n < 0:
                raise self.err(v.pos, f"{key} must not be negative (got {n})")
            ints[key] = (n, v)
        return ints

    def socket_type(self, fields: Fields, label: str, pos: Position) -> tuple[str, Val]:
        """The socket type as FairMQ reads it (case matters); a catalogue entry without a
        usable type is left out (:class:`SkipDevice`), a launch's is an input error."""
        tval = fields.get("type")
        stype = self.string(tval, "type") if tval is not None else ""
        if not stype or tval is None:
            if self.launch.catalogue:
                raise SkipDevice(f"{label} has no type")
            raise self.err(
                tval.pos if tval is not None else pos,
                f"{label} has no 'type': expected one of {', '.join(SOCKET_TYPES)}",
            )
        if stype in SOCKET_TYPES:
            return stype, tval
        if has_placeholder(stype):
            if self.launch.catalogue:
                raise SkipDevice(f"{label} has type {stype!r}")
            raise self.err(
                tval.pos, f"{label}: socket type {stype!r} is a placeholder: pass --var to set it"
            )
        msg = f"unknown socket type {stype!r}: expected one of {', '.join(SOCKET_TYPES)}"
        close = difflib.get_close_matches(stype.lower(), SOCKET_TYPES, n=1, cutoff=0.6)
        raise self.err(tval.pos, msg + (f"; did you mean {close[0]!r}?" if close else ""))

    def transport(self, fields: Fields, dev: Device) -> tuple[str | None, Val | None]:
        """The socket's transport and where the channel says it (``None``: not written on
        the channel).  ``default`` is the device's ``--transport``, else zeromq; in a
        catalogue the device's ``--transport`` is not known, so neither is the default."""
        transport: str | None = None if self.launch.catalogue else DEFAULT_TRANSPORT
        tr_val = fields.get("transport") or dev.transport
        if tr_val is None:
            return transport, None
        tr = self.string(tr_val, "transport")
        if tr not in TRANSPORTS and not has_placeholder(tr):
            raise self.err(
                tr_val.pos, f"unknown transport {tr!r}: expected one of {', '.join(TRANSPORTS)}"
            )
        if tr == "default" and dev.transport is not None and tr_val is not dev.transport:
            tr = self.string(dev.transport, "transport")
        if tr != "default" and not has_placeholder(tr):
            transport = tr
        return transport, (tr_val if tr_val is not dev.transport else None)

    def method(self, fields: Fields, label: str, pos: Position) -> str | None:
        """``bind`` or ``connect`` (case matters), or ``None`` when absent or a placeholder."""
        mval = fields.get("method")
        method = self.string(mval, "method") if mval is not None else None
        if method is None or method in METHODS:
            return method
        if not method or has_placeholder(method):
            return None
        raise self.err(
            mval.pos if mval else pos,
            f"{label}: invalid method {method!r}: expected 'bind' or 'connect'",
        )

    def options(
        self,
        put: Callable[[str, Any, Val | None], None],
        ints: dict[str, tuple[int, Val] | None],
        stype: str,
        tval: Val,
        path: Path,
    ) -> None:
        """HWMs (FairMQ's default 1000), kernel buffers (0 = the OS default), linger
        (default 500 ms) and SUB's subscription to everything."""
        snd, rcv = ints["sndBufSize"], ints["rcvBufSize"]
        put("sndhwm", DEFAULT_BUF_SIZE if snd is None else snd[0], None if snd is None else snd[1])
        put("rcvhwm", DEFAULT_BUF_SIZE if rcv is None else rcv[0], None if rcv is None else rcv[1])
        for fmq_key, native_key in (("sndKernelSize", "sndbuf"), ("rcvKernelSize", "rcvbuf")):
            size = ints[fmq_key]
            if size is not None and size[0]:
                put(native_key, size[0], size[1])
        linger = ints["linger"]
        ms = DEFAULT_LINGER_MS if linger is None else linger[0]
        put("linger", "infinite" if ms < 0 else f"{ms}ms", None if linger is None else linger[1])
        if stype == "sub":
            put("subscribe", [""], tval)
            self.out.value_pos[(*path, "subscribe", 0)] = tval.pos

    def addresses(
        self, fields: Fields, method: str | None, label: str, dev: Device, pos: Position
    ) -> tuple[list[tuple[str, str, Position]], list[tuple[str, str, Position]], bool]:
        aval = fields.get("address")
        raw = self.string(aval, "address") if aval is not None else ""
        if aval is None or raw in ("", "unspecified"):
            return [], [], True
        known: list[tuple[str, str, Position]] = []
        unknown: list[tuple[str, str, Position]] = []
        pieces = list(split_endpoints(raw))
        for offset, piece in pieces:
            where = (
                aval.pos
                if len(pieces) == 1
                else _piece_pos(self.launch.text, aval.pos, offset, piece)
            )
            if not piece:
                raise self.err(where, f"{label}: empty endpoint in address {raw!r}")
            if piece[0] in "@+>":
                kind, endpoint = ("bind" if piece[0] == "@" else "connect"), piece[1:]
            else:
                if method is None and self.launch.catalogue:
                    raise SkipDevice(f"{label} has no method for {piece!r}")
                if method is None:
                    mval = fields.get("method")
                    if has_placeholder(piece) or (
                        mval is not None and has_placeholder(str(mval.value))
                    ):
                        unknown.append(("?", piece, where))
                        continue
                    raise self.err(
                        mval.pos if mval is not None else where,
                        f"{label}: no 'method' for endpoint {piece!r}: expected 'bind' or 'connect', "
                        "or prefix the endpoint with '@' (bind) or '+' / '>' (connect)",
                    )
                kind, endpoint = method, piece
            if has_placeholder(endpoint):
                unknown.append((kind, endpoint, where))
                continue
            if not endpoint.startswith(_ENDPOINT_SCHEMES):
                raise self.err(
                    where,
                    f"{label}: endpoint {endpoint!r} has no transport: expected tcp://HOST:PORT, "
                    "ipc://PATH or inproc://NAME",
                )
            rest = endpoint.split("://", 1)[1]
            if not rest:
                raise self.err(where, f"{label}: endpoint {endpoint!r} has an empty address")
            if endpoint.startswith("tcp://") and ":" not in rest:
                raise self.err(where, f"{label}: endpoint {endpoint!r} has no port")
            known.append((kind, endpoint, where))
        return known, unknown, False

    # -- wiring -----------------------------------------------------------------------

    def wire(self) -> None:
        """Write each socket's endpoints; run-time and placeholder addresses become references."""
        binders: dict[str, list[_Entry]] = defaultdict(list)
        by_text: dict[str, list[_Entry]] = defaultdict(list)
        for e in self.entries:
            if e.method == "bind" and e.runtime:
                binders[e.channel].append(e)
            for kind, text, _ in e.unknown:
                if kind == "bind":
                    by_text[text].append(e)
        for e in self.entries:
            found: dict[str, list[tuple[str, Position]]] = {"bind": [], "connect": []}
            key_pos = e.address_key
            for kind, text, where in e.addresses:
                found[kind].append((text, where))
            for kind, text, where in e.unknown:
                if kind == "connect":
                    for b in by_text.get(text, []):
                        if b.process != e.process:
                            found["connect"].append((f"{b.process}.{b.name}", where))
            if e.runtime and e.method == "connect":
                for b in binders.get(e.channel, []):
                    if b.process != e.process:
                        found["connect"].append((f"{b.process}.{b.name}", e.pos))
            for kind in ("bind", "connect"):
                eps = list(dict.fromkeys(t for t, _ in found[kind]))
                if not eps:
                    continue
                where_of = {t: w for t, w in reversed(found[kind])}
                if len(eps) == 1:
                    self.out.put(e.data, e.path, kind, eps[0], where_of[eps[0]], key_pos)
                else:
                    self.out.put(e.data, e.path, kind, eps, where_of[eps[0]], key_pos)
                    for i, t in enumerate(eps):
                        self.out.value_pos[(*e.path, kind, i)] = where_of[t]
            # endpoints right after the type, as a person would write them
            items = dict(e.data)
            e.data.clear()
            for k in ("type", "bind", "connect"):
                if k in items:
                    e.data[k] = items.pop(k)
            e.data.update(items)


def _piece_pos(text: str, start: Position, offset: int, piece: str) -> Position:
    """Position of ``piece`` at ``offset`` inside the value starting at ``start`` (exact when
    the value is written without escapes before the piece, else the value's own position)."""
    lines = text.split("\n", start.line)[start.line - 1 : start.line]
    if lines:
        line = lines[0]
        col0 = start.column - 1
        quoted = line[col0 : col0 + 1] in ('"', "'")
        at = col0 + offset + (1 if quoted else 0)
        if line[at : at + len(piece)] == piece:
            return Position(start.line, at + 1)
    return start


def _show(value: Any, limit: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 4] + "…" + r[-2:]


def to_document(launch: Launch, variables: Mapping[str, str] | None = None) -> Document:
    """Map ``launch`` onto a native topology document with positions into its file."""
    b = _Builder(launch, {**launch.variables, **(variables or {})})
    native = b.run()
    return Document(
        file=launch.file,
        text=launch.text,
        data=native,
        value_pos=b.out.value_pos,
        key_pos=b.out.key_pos,
        suppressions=launch.suppressions,
        format=launch.form,
    )
