"""The topology model: typed processes, sockets, endpoints and message types.

:func:`build_topology` turns a validated :class:`~topolint.lint.loader.Document` into a
:class:`Topology`.  Every element keeps its document path so that findings can point at
file, line and column.  Units are parsed here and ``${VAR}`` / ``${VAR:-default}``
references are resolved; both fail as :class:`~topolint.errors.InputError` with the
element's location.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from topolint.analysis.queue_model import Kernel
from topolint.errors import InputError
from topolint.lint.findings import Path
from topolint.lint.loader import Document
from topolint.lint.sockets import BLOCKING as BLOCKING  # re-exported: rules import them from here
from topolint.lint.sockets import COMPATIBLE as COMPATIBLE
from topolint.lint.sockets import LOSSY as LOSSY
from topolint.lint.sockets import RECEIVERS as RECEIVERS
from topolint.lint.sockets import SENDERS as SENDERS
from topolint.lint.units import (
    INT32_MAX,
    parse_count,
    parse_duration,
    parse_int,
    parse_rate,
    parse_size,
    show,
)

T = TypeVar("T")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
DEFAULT_HWM = 1000
MAX_REPLICAS = 100_000
#: Transports whose port is an IP port (1..65535; ``*`` or 0 on a bind: any free port).
IP_TRANSPORTS = frozenset({"tcp", "ws", "wss", "udp", "pgm", "epgm", "norm"})
MAX_PORT = 65535
#: Longest ``ipc://`` path: ``sun_path`` holds 108 bytes with the terminating NUL, and libzmq
#: refuses a path of 108 bytes or more (ENAMETOOLONG); an abstract ``@name`` counts its ``@``.
MAX_IPC_PATH = 107
_DIGITS = re.compile(r"[0-9]+")  # ASCII: str.isdigit() and int() also take '²', '٣', '０'


@dataclass
class Endpoint:
    """One bind or connect endpoint of a socket.

    ``kind`` is ``ref`` (logical ``process.socket``), ``tcp``, ``ipc``, ``inproc`` or
    another transport name.  ``raw`` is the text as written, ``text`` after variables.
    """

    raw: str
    text: str
    kind: str
    bind: bool
    path: Path
    host: str | None = None
    port: str | None = None
    address: str | None = None  # ipc path / inproc name
    ref: tuple[str, str] | None = None
    variables: tuple[str, ...] = ()

    @property
    def transport(self) -> str:
        """The transport: ``tcp`` for a logical ``process.socket`` reference, else the kind.

        Examples
        --------
        >>> Endpoint("camera.out", "camera.out", "ref", False, ()).transport
        'tcp'
        """
        return "tcp" if self.kind == "ref" else self.kind


@dataclass
class Socket:
    """A declared socket of a process (shared by all its replicas)."""

    name: str
    process: str
    type: str
    path: Path
    binds: list[Endpoint] = field(default_factory=list)
    connects: list[Endpoint] = field(default_factory=list)
    sends: str | None = None
    receives: str | None = None
    sndhwm: int = DEFAULT_HWM
    rcvhwm: int = DEFAULT_HWM
    sndbuf: int | None = None
    rcvbuf: int | None = None
    linger: float | None = None  # seconds; None = infinite (libzmq's default -1)
    immediate: bool = False
    conflate: bool = False
    nodrop: bool = False
    maxmsgsize: int | None = None
    subscribe: list[str] | None = None
    curve: str | None = None
    sync: str | None = None
    loss_tolerant: bool | None = None
    carries: list[str] = field(default_factory=lambda: ["data"])
    declared: frozenset[str] = frozenset()
    #: FairMQ: the transport (``x-transport``: zeromq, shmem, nanomsg, ofi), ``numSockets``
    #: (sub-sockets counted, not expanded) and whether the runner supplies the address
    #: (DDS/ODC plugin, a placeholder): then peers outside the file are unknown, not absent.
    transport: str | None = None
    sub_sockets: int = 1
    address_at_run_time: bool = False

    @property
    def id(self) -> str:
        """``process.socket``, the socket's name in messages and subjects."""
        return f"{self.process}.{self.name}"

    @property
    def endpoints(self) -> list[Endpoint]:
        """Its bind endpoints, then its connect endpoints."""
        return self.binds + self.connects

    @property
    def can_send(self) -> bool:
        """Whether the socket type sends (:data:`~topolint.lint.sockets.SENDERS`)."""
        return self.type in SENDERS

    @property
    def can_receive(self) -> bool:
        """Whether the socket type receives (:data:`~topolint.lint.sockets.RECEIVERS`)."""
        return self.type in RECEIVERS

    @property
    def is_control(self) -> bool:
        """A dedicated end-of-data control socket (``carries: [end-of-data]``)."""
        return "data" not in self.carries

    @property
    def message(self) -> str | None:
        """The message type it carries: what it sends, else what it receives."""
        return self.sends or self.receives


@dataclass
class EndOfData:
    """How a process treats end-of-data."""

    action: str  # emit | forward | consume | none
    wait_for: str | int = "all"
    timeout: float | None = None
    declared: bool = True
    path: Path = ()


@dataclass
class Join:
    """How a process with several inputs matches them."""

    inputs: list[str]
    match: str
    max_pending: int | None
    timeout: float | None
    on_timeout: str | None
    path: Path


@dataclass
class Process:
    """A declared process; ``replicas`` identical instances of it run."""

    name: str
    path: Path
    owner: str | None = None
    host: str = "localhost"
    host_declared: bool = False
    replicas: int = 1
    memory_limit: int | None = None
    rate: float | None = None
    count: int | None = None
    service_time: float | None = None
    period: float | None = None
    phase: float | None = None
    filters: bool = False
    lifecycle: str = "per-run"
    on_start: list[str] = field(default_factory=list)
    end_of_data: EndOfData | None = None
    join: Join | None = None
    sockets: dict[str, Socket] = field(default_factory=dict)

    def instances(self) -> list[str]:
        """Instance ids: ``name`` or ``name[0]``, ``name[1]``, ... for replicas."""
        if self.replicas == 1:
            return [self.name]
        return [f"{self.name}[{i}]" for i in range(self.replicas)]

    @property
    def inputs(self) -> list[Socket]:
        """The data sockets it receives on (control sockets left out)."""
        return [s for s in self.sockets.values() if s.can_receive and not s.is_control]

    @property
    def outputs(self) -> list[Socket]:
        """The data sockets it sends on (control sockets left out)."""
        return [s for s in self.sockets.values() if s.can_send and not s.is_control]


@dataclass
class MessageType:
    """A message contract."""

    name: str
    path: Path
    max_size: int | None = None
    key: str | None = None
    encoding: str | None = None
    version: str | None = None
    schema: Any = None
    loss_tolerant: bool | None = None


@dataclass
class Topology:
    """A whole topology declaration."""

    name: str
    file: str
    document: Document
    environment: str | None = None
    runs: str = "finite"
    environments: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    kernel: Kernel = field(default_factory=Kernel)
    kernel_declared: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, MessageType] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    source_format: str = "topolint"
    #: a FairMQ JSON catalogue: which of its devices run together is not known
    catalogue: bool = False
    #: where a duration or rate was given as a bare number (``service_time: 3``), and the
    #: unit it was taken in (``"s"``, ``"/s"``): rule bare-number-unit reports them
    bare_numbers: dict[Path, str] = field(default_factory=dict)

    def socket(self, process: str, socket: str) -> Socket | None:
        """The socket ``socket`` of process ``process``, or ``None`` when either is not declared."""
        p = self.processes.get(process)
        return p.sockets.get(socket) if p else None

    def message(self, name: str | None) -> MessageType | None:
        """The message type called ``name``, or ``None`` (also for no name)."""
        return self.messages.get(name) if name else None

    def message_of(self, sock: Socket) -> MessageType | None:
        """The message type ``sock`` carries (:attr:`Socket.message`), or ``None``."""
        return self.message(sock.message)


class _Builder:
    def __init__(
        self, doc: Document, variables: Mapping[str, str], allow_env: Sequence[str] = ()
    ) -> None:
        self.doc = doc
        self.variables = variables
        self.allow_env = allow_env
        self.bare_numbers: dict[Path, str] = {}

    def err(self, path: Path, message: str) -> InputError:
        return self.doc.error(message, path)

    def unit(self, path: Path, value: Any, parse: Callable[[Any], T]) -> T:
        value = self.subst(path, value) if isinstance(value, str) else value
        try:
            out = parse(value)
        except ValueError as e:
            raise self.err(path, str(e)) from None
        if parse in _BARE_UNIT and out and _is_bare_number(value):  # 0 is 0 in any unit
            self.bare_numbers[path] = _BARE_UNIT[parse]
        return out

    def subst(self, path: Path, text: str) -> str:
        if "${" not in text:
            return text

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.variables:
                return self.variables[name]
            if default is not None:
                return default
            if env_allowed(name, self.allow_env):
                raise self.err(
                    path,
                    f"unresolved variable ${{{name}}}: allow-env lets it come from the "
                    f"environment, where it is not set; set it, pass --var {name}=VALUE, or "
                    f"write ${{{name}:-default}}",
                )
            raise self.err(
                path,
                f"unresolved variable ${{{name}}}: not set by --var and not in allow-env "
                f"(the environment is read only for names allow-env lists); pass --var "
                f"{name}=VALUE, write ${{{name}:-default}}, or add {name} to allow-env in "
                "[tool.topolint] or .topolint.yaml",
            )

        out = _VAR.sub(repl, text)
        if "${" in out:
            raise self.err(path, f"malformed variable reference in {text!r}: expected ${{NAME}}")
        return out

    def endpoint(self, path: Path, raw: str, bind: bool) -> Endpoint:
        text = self.subst(path, raw)
        names = tuple(m.group(1) for m in _VAR.finditer(raw))
        if "://" not in text:
            proc, dot, sock = text.partition(".")
            if not dot or not proc or not sock:
                raise self.err(
                    path,
                    f"invalid endpoint {text!r}: expected a reference 'process.socket' or "
                    "'tcp://HOST:PORT', 'ipc://PATH', 'inproc://NAME'",
                )
            return Endpoint(raw, text, "ref", bind, path, ref=(proc, sock), variables=names)
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme in ("ipc", "inproc"):
            if not rest:
                raise self.err(path, f"invalid endpoint {text!r}: empty {scheme} address")
            if scheme == "ipc":
                self.check_ipc(path, text, rest, bind)
            return Endpoint(raw, text, scheme, bind, path, address=rest, variables=names)
        if scheme in ("tcp", "ws", "wss", "udp", "tipc", "pgm", "epgm", "norm", "vmci"):
            host, port = _split_host_port(rest)
            if host is None or not port:
                raise self.err(path, f"invalid endpoint {text!r}: expected {scheme}://HOST:PORT")
            port = self.check_port(path, text, scheme, port, bind)
            if bind and ";" in host:
                raise self.err(path, f"invalid bind endpoint {text!r}")
            if ";" in host:  # tcp://source;dest
                host = host.split(";", 1)[1]
            return Endpoint(raw, text, scheme, bind, path, host=host, port=port, variables=names)
        raise self.err(path, f"unknown transport {scheme!r} in endpoint {text!r}")

    def check_port(self, path: Path, text: str, scheme: str, port: str, bind: bool) -> str:
        """The port in canonical form (``007`` is ``7``), or a located error: ASCII digits
        only, 1..65535 for IP transports; ``*`` or 0 (any free port) only on a bind."""
        if port in ("*", "!"):
            any_port = True
        elif _DIGITS.fullmatch(port):
            digits = port.lstrip("0") or "0"
            if scheme in IP_TRANSPORTS and (len(digits) > 5 or int(digits) > MAX_PORT):
                raise self.err(
                    path,
                    f"port {show(port)} of endpoint {show(text)} is out of range: "
                    f"expected 1 to {MAX_PORT} (or * / 0 on a bind: any free port)",
                )
            any_port, port = digits == "0", digits
        else:
            raise self.err(
                path,
                f"invalid port {show(port)} in endpoint {show(text)}: expected ASCII digits, "
                f"1 to {MAX_PORT} (or * / 0 on a bind: any free port)",
            )
        if any_port and not bind:
            raise self.err(
                path,
                f"connect to port {port} in {show(text)}: port {port} only means 'any free "
                "port' to a bind, where libzmq picks one; a connect needs the port its peer "
                "binds (or a reference process.socket)",
            )
        return port

    def check_ipc(self, path: Path, text: str, address: str, bind: bool) -> None:
        """Located errors for ``ipc://`` paths libzmq cannot use."""
        if address == "*" and not bind:
            raise self.err(
                path,
                f"connect to {show(text)}: ipc://* only means 'a fresh name' to a bind; a "
                "connect needs the path its peer binds (or a reference process.socket)",
            )
        if address == "@":
            raise self.err(path, f"invalid endpoint {text!r}: empty abstract socket name")
        size = len(address.encode("utf-8", "surrogatepass"))
        if size > MAX_IPC_PATH:
            raise self.err(
                path,
                f"ipc path of {show(text)} is {size:,} bytes; a Unix socket path holds at most "
                f"{MAX_IPC_PATH} (sun_path is 108 bytes with its NUL"
                + ("; the @ of an abstract name counts" if address.startswith("@") else "")
                + "): use a shorter path",
            )

    def endpoints(self, path: Path, value: Any, bind: bool) -> list[Endpoint]:
        if value is None:
            return []
        if isinstance(value, str):
            return [self.endpoint(path, value, bind)]
        return [self.endpoint((*path, i), v, bind) for i, v in enumerate(value)]

    def socket(
        self, pname: str, name: str, data: dict[str, Any], path: Path, defaults: dict[str, Any]
    ) -> Socket:
        if "." in name or "[" in name:
            raise self.err(path, f"socket name {name!r} must not contain '.' or '['")
        s = Socket(name=name, process=pname, type=data["type"], path=path, declared=frozenset(data))
        s.binds = self.endpoints((*path, "bind"), data.get("bind"), True)
        s.connects = self.endpoints((*path, "connect"), data.get("connect"), False)
        s.sends = data.get("sends")
        s.receives = data.get("receives")
        if isinstance(data.get("x-transport"), str):
            s.transport = data["x-transport"]
        fmq = data.get("x-fairmq")
        if isinstance(fmq, dict):
            if isinstance(fmq.get("sockets"), int) and fmq["sockets"] > 0:
                s.sub_sockets = fmq["sockets"]
            s.address_at_run_time = "address" in fmq
        merged = {**defaults, **data}
        s.sndhwm = int(merged.get("sndhwm", DEFAULT_HWM))
        s.rcvhwm = int(merged.get("rcvhwm", DEFAULT_HWM))
        for opt in ("sndbuf", "rcvbuf", "maxmsgsize"):
            if opt in merged:
                where = (*path, opt) if opt in data else ("defaults", opt)
                v = self.unit(where, merged[opt], parse_size)
                if opt != "maxmsgsize" and v > INT32_MAX:  # ZMQ_MAXMSGSIZE is an int64
                    raise self.err(
                        where,
                        f"{opt} {show(merged[opt])} is {v:,} bytes, more than libzmq can set: "
                        f"ZMQ_{opt.upper()} is a C int, at most {INT32_MAX:,} bytes",
                    )
                setattr(s, opt, v or None)
        if "linger" in merged:
            where = (*path, "linger") if "linger" in data else ("defaults", "linger")
            v = merged["linger"]
            if v in (-1, "-1", "infinite", "inf"):
                s.linger = None
            else:
                s.linger = self.unit(where, v, parse_duration)
                if s.linger * 1000 > INT32_MAX:
                    raise self.err(
                        where,
                        f"linger {show(v)} is longer than libzmq can set: ZMQ_LINGER is a C int "
                        f"of milliseconds, at most {INT32_MAX:,} ms (about 24.8 days); "
                        "write -1 or 'infinite' to wait for ever",
                    )
        s.immediate = bool(merged.get("immediate", False))
        s.conflate = bool(merged.get("conflate", False))
        s.nodrop = bool(merged.get("nodrop", False))
        s.subscribe = data.get("subscribe")
        s.curve = data.get("curve")
        s.sync = data.get("sync")
        s.loss_tolerant = data.get("loss_tolerant")
        s.carries = list(data.get("carries", ["data"]))
        return s

    def process(self, name: str, data: dict[str, Any], defaults: dict[str, Any]) -> Process:
        path: Path = ("processes", name)
        if "." in name or "[" in name or not name:
            raise self.err(path, f"process name {name!r} must not be empty or contain '.' or '['")
        p = Process(name=name, path=path, owner=data.get("owner"))
        if "host" in data:
            p.host = self.subst((*path, "host"), data["host"]).strip() or "localhost"
            p.host_declared = True
        if "replicas" in data:
            p.replicas = self.unit((*path, "replicas"), data["replicas"], _parse_replicas)
        if "memory_limit" in data:
            p.memory_limit = self.unit((*path, "memory_limit"), data["memory_limit"], parse_size)
        if "rate" in data:
            p.rate = self.unit((*path, "rate"), data["rate"], parse_rate)
        if "count" in data:
            p.count = self.unit((*path, "count"), data["count"], parse_count)
        for key in ("service_time", "period", "phase"):
            if key in data:
                setattr(p, key, self.unit((*path, key), data[key], parse_duration))
        p.filters = bool(data.get("filters", False))
        p.lifecycle = data.get("lifecycle", "per-run")
        p.on_start = list(data.get("on_start", []))
        eod = data.get("end_of_data")
        epath = (*path, "end_of_data")
        if isinstance(eod, str):
            p.end_of_data = EndOfData(eod, path=epath)
        elif isinstance(eod, dict):
            timeout = eod.get("timeout")
            p.end_of_data = EndOfData(
                eod["action"],
                wait_for=eod.get("wait_for", "all"),
                timeout=None
                if timeout is None
                else self.unit((*epath, "timeout"), timeout, parse_duration),
                path=epath,
            )
        join = data.get("join")
        if join is not None:
            jpath = (*path, "join")
            timeout = join.get("timeout")
            p.join = Join(
                inputs=list(join.get("inputs", [])),
                match=join["match"],
                max_pending=join.get("max_pending"),
                timeout=None
                if timeout is None
                else self.unit((*jpath, "timeout"), timeout, parse_duration),
                on_timeout=join.get("on_timeout"),
                path=jpath,
            )
            for i, inp in enumerate(p.join.inputs):
                if inp not in data.get("sockets", {}):
                    raise self.err(
                        (*jpath, "inputs", i), f"join input {inp!r} is not a socket of {name!r}"
                    )
        for sname, sdata in (data.get("sockets") or {}).items():
            p.sockets[sname] = self.socket(name, sname, sdata, (*path, "sockets", sname), defaults)
        return p

    def message(self, name: str, data: dict[str, Any]) -> MessageType:
        path: Path = ("messages", name)
        m = MessageType(name=name, path=path, key=data.get("key"), encoding=data.get("encoding"))
        if "max_size" in data:
            m.max_size = self.unit((*path, "max_size"), data["max_size"], parse_size)
        if "version" in data:
            m.version = str(data["version"])
        m.schema = data.get("schema")
        m.loss_tolerant = data.get("loss_tolerant")
        return m


def _parse_replicas(value: Any) -> int:
    return parse_int(value, "replicas", 1, MAX_REPLICAS)


def _split_host_port(rest: str) -> tuple[str | None, str | None]:
    rest = rest.split("/", 1)[0]
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        return (host, tail[1:] if tail.startswith(":") else None) if sep else (None, None)
    host, sep, port = rest.rpartition(":")
    if not sep:
        return rest, None
    return host, port


def env_allowed(name: str, allow_env: Sequence[str]) -> bool:
    """Whether ``${name}`` may read the environment: ``allow_env`` lists it or a glob that
    matches it (case-sensitive, as the environment is)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in allow_env)


def allowed_environment(allow_env: Sequence[str]) -> dict[str, str]:
    """The environment variables ``allow_env`` lets ``${VAR}`` read, and no other."""
    if not allow_env:
        return {}
    return {k: v for k, v in os.environ.items() if env_allowed(k, allow_env)}


def build_topology(
    doc: Document,
    variables: Mapping[str, str] | None = None,
    *,
    use_environ: bool = True,
    allow_env: Sequence[str] = (),
) -> Topology:
    """Build the model of a validated document.

    Variables come from ``variables`` first, then (with ``use_environ``) from the
    environment, but only for names that ``allow_env`` (names or globs: the configuration's
    ``allow-env``) lists: a file in a pull request must not copy a CI secret into a report.
    """
    env = allowed_environment(allow_env) if use_environ else {}
    env.update(variables or {})
    b = _Builder(doc, env, allow_env if use_environ else ())
    data = doc.data
    kernel_data = data.get("kernel") or {}
    try:
        kernel = Kernel.from_mapping(kernel_data)
    except (TypeError, ValueError) as e:
        raise b.err(("kernel",), f"invalid kernel block: {e}") from None
    topo = Topology(
        name=data["name"],
        file=doc.file,
        document=doc,
        environment=data.get("environment"),
        runs=data.get("runs", "finite"),
        environments={k: dict(v) for k, v in (data.get("environments") or {}).items()},
        kernel=kernel,
        kernel_declared=bool(kernel_data),
        defaults=dict(data.get("defaults") or {}),
        variables=dict(variables or {}),
        source_format="fairmq" if "x-fairmq" in data else "topolint",
        catalogue=isinstance(data.get("x-fairmq"), dict)
        and data["x-fairmq"].get("catalogue") is True,
    )
    if topo.environment:
        topo.environment = b.subst(("environment",), topo.environment)
    for name, mdata in (data.get("messages") or {}).items():
        topo.messages[name] = b.message(name, mdata)
    for name, pdata in data["processes"].items():
        topo.processes[name] = b.process(name, pdata, topo.defaults)
    topo.bare_numbers = b.bare_numbers
    return topo


#: The parsers whose bare numbers take a unit silently, and that unit (sizes are bytes, as
#: documented, and not listed).
_BARE_UNIT: dict[Callable[[Any], Any], str] = {parse_duration: "s", parse_rate: "/s"}
_PLAIN_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _is_bare_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value) is not None
