"""Host helpers shared by the endpoint rules (not a rule: no ``NAME``).

Hosts are compared case-insensitively.  Host patterns are shell globs (``prod*``,
``*.cern.ch``); an entry that parses as an IP address or network (``10.1.0.0/16``,
``192.168.3.7``) matches IP hosts inside it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from topolint.lint.graph import LOOPBACK, WILDCARD
from topolint.lint.model import Endpoint, Process, Topology

_VAR = re.compile(r"\$\{[^}]*\}")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Transports that reach across hosts with a ``HOST:PORT`` address (multicast ones excluded).
NETWORK_TRANSPORTS = frozenset({"tcp", "ws", "wss"})


def ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The host as an IP address, or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def network(text: str) -> IpNetwork | None:
    """``text`` as an IP network (a bare address is a /32 or /128), or ``None``."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    """Is ``host`` a loopback name or address (``localhost``, ``127.0.0.2``, ``::1``)?"""
    if host is None:
        return False
    h = host.lower()
    if h in LOOPBACK:
        return True
    addr = ip(h)
    return addr is not None and addr.is_loopback


def is_wildcard(host: str | None) -> bool:
    """Is ``host`` a bind-to-every-interface wildcard (``*``, ``0.0.0.0``, ``::``)?"""
    return host is not None and host in WILDCARD


def raw_host(e: Endpoint) -> str | None:
    """The host part of the endpoint as written, before variables (``None`` if no host).

    ``${VARIABLE}`` references are kept as written; a raw text without ``://``
    (``${ENDPOINT}``) has no literal host.
    """
    refs: list[str] = []

    def hide(m: re.Match[str]) -> str:
        refs.append(m.group(0))
        return f"\x00{len(refs) - 1}\x00"

    _scheme, sep, rest = _VAR.sub(hide, e.raw).partition("://")
    if not sep:
        return None
    masked = rest.split("/", 1)[0]
    if masked.startswith("["):
        host = masked[1:].partition("]")[0]
    else:
        before, colon, _ = masked.rpartition(":")
        host = before if colon else masked
    return re.sub("\x00(\\d+)\x00", lambda m: refs[int(m.group(1))], host)


def literal_host(e: Endpoint) -> bool:
    """Is the endpoint's host written literally (not supplied by a ``${VARIABLE}``)?"""
    if e.host is None or e.kind == "ref":
        return False
    written = raw_host(e)
    return written is not None and "${" not in written


def target_host(e: Endpoint, connector: Process, topo: Topology) -> str | None:
    """The host a connect endpoint reaches, after variables and loopback resolution.

    Loopback names resolve to the connector's own host; a logical reference reaches the
    host of the process it names.  ``None`` when it cannot be told (unknown process,
    ipc/inproc: those stay on the connector's host and are covered by it).
    """
    if e.kind == "ref":
        if e.ref is None:
            return None
        p = topo.processes.get(e.ref[0])
        return p.host if p is not None else None
    if e.host is None:
        return None
    return connector.host if is_loopback(e.host) else e.host


@dataclass
class HostSet:
    """Host globs plus IP networks; :meth:`match` says which entry claims a host."""

    globs: list[str] = field(default_factory=list)
    networks: list[tuple[str, IpNetwork]] = field(default_factory=list)

    @classmethod
    def of(cls, entries: Iterable[object]) -> HostSet:
        """A set of the string ``entries`` (others and blank ones skipped)."""
        hs = cls()
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                continue
            hs.add(entry.strip())
        return hs

    def add(self, entry: str) -> None:
        """Add one entry: an IP network when it parses as one (it has a digit and no
        ``*``), else a glob, compared in lower case."""
        net = network(entry) if any(c.isdigit() for c in entry) and "*" not in entry else None
        if net is not None:
            self.networks.append((entry, net))
        else:
            self.globs.append(entry.lower())

    def match(self, host: str) -> str | None:
        """The entry claiming ``host`` (a glob or a network), or ``None``."""
        h = host.lower().strip("[]")
        for g in self.globs:
            if fnmatch.fnmatchcase(h, g):
                return g
        addr = ip(h)
        if addr is not None:
            for text, net in self.networks:
                if addr.version == net.version and addr in net:
                    return text
        return None

    def __bool__(self) -> bool:
        return bool(self.globs or self.networks)


def option_list(value: object) -> list[str]:
    """A rule option that should be a list of strings (a single string is accepted)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []
