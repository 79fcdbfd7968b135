"""A test topology reaches a production host, or a production topology a test host.

## What it finds
After `${VARIABLE}`s are resolved, a topology whose `environment` is not production
(`test`, `dev`, `staging`, …) that connects to a host claimed by
`environments.production` — or places a process there with `host:` — and the reverse: a
production topology reaching a host claimed by a non-production environment.

Hosts are claimed by globs in `environments.<env>.hosts` (`prod*`, `*.cern.ch`) and by IP
networks in `environments.<env>.networks` (`10.1.0.0/16`; CIDR entries in `hosts` work
too). Connect endpoints (`tcp://prod01:7891`; a logical reference reaches its process's
host; `localhost` resolves to the connector's own host) and declared process hosts are
checked. A host that the topology's own environment also claims is not reported, and a
loopback address never leaves its machine. Without an `environment` the rule is silent.

Option `production-environments` (default `["production", "prod"]`): which environment
names count as production.

## Why it matters
The talk's problem 4: a test script connected to `tcp://prod01:7891` and pushed `"hello"`
into the production collector — ZeroMQ connected without complaint, and the production run
consumed test data. "Design the system in a way that test setups cannot access
production": the linter can at least refuse a test file that names a production machine,
including when the name arrives through a variable.

## Example
```yaml
environment: test
environments:
  production: {hosts: ["prod*"]}
processes:
  test-sender:
    sockets:
      out: {type: push, connect: "tcp://prod01:7891"}
```

## Fix
Point the test topology at test hosts (`test-collector`, or `localhost` with the collector
started locally), taking the host from a variable whose default is a test host. If the
host really belongs to both environments, claim it in the topology's own environment.
"""

from collections.abc import Iterator

from topolint.analysis.hosts import HostSet, is_loopback, network, option_list, target_host
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.model import Process, Socket, Topology

NAME = "cross-environment-endpoint"
CODE = "TL502"
SEVERITY = "error"
OPTIONS = {"production-environments": ["production", "prod"]}


class _Claims:
    """Which environments claim which hosts, seen from the topology's own environment."""

    def __init__(self, topo: Topology, prod_names: set[str]) -> None:
        self.own = topo.environment or ""
        self.prod_names = prod_names  # lower-case names of production environments
        self.sets: dict[str, HostSet] = {}
        self.bad: list[tuple[Path, str]] = []
        for env, spec in topo.environments.items():
            hs = HostSet.of(spec.get("hosts") or [])
            for i, entry in enumerate(spec.get("networks") or []):
                net = network(entry) if isinstance(entry, str) else None
                if net is not None:
                    hs.networks.append((str(entry), net))
                else:
                    self.bad.append((("environments", env, "networks", i), str(entry)))
            self.sets[env] = hs

    def claimers(self, host: str) -> list[tuple[str, str]]:
        """``(environment, matching entry)`` for every environment that claims ``host``."""
        out = []
        for env, hs in self.sets.items():
            hit = hs.match(host)
            if hit is not None:
                out.append((env, hit))
        return out

    def foreign(self, host: str) -> tuple[str, str] | None:
        """The other-class environment claiming ``host`` (unless ours claims it too)."""
        if is_loopback(host):
            return None
        found = self.claimers(host)
        if any(env == self.own for env, _ in found):
            return None
        own_is_prod = self.own.lower() in self.prod_names
        for env, entry in found:
            if (env.lower() in self.prod_names) != own_is_prod:
                return env, entry
        return None


def check(ctx: Context) -> Iterator[Fact]:
    """Processes placed on, and connects aimed at, hosts that an environment of the other
    class (production or not) claims."""
    topo = ctx.topology
    if not topo.environment or not topo.environments:
        return
    prod_names = {n.lower() for n in option_list(ctx.option("production-environments"))}
    claims = _Claims(topo, prod_names)
    for path, entry in claims.bad:
        yield Fact(
            f"environment network {entry!r} is not an IP network (like 10.1.0.0/16): "
            "hosts in it cannot be recognised",
            path=path,
            subject=(f"environments.{path[1]}",),
        )
    for p in topo.processes.values():
        if p.host_declared:
            yield from _placement(topo, claims, p)
        for s in p.sockets.values():
            yield from _connects(topo, claims, p, s)


def _placement(topo: Topology, claims: _Claims, p: Process) -> Iterator[Fact]:
    """``p`` is placed on a host of an environment of the other class."""
    hit = claims.foreign(p.host)
    if hit:
        env, entry = hit
        yield Fact(
            f"topology {topo.name!r} of environment {claims.own} places process {p.name} "
            f"on host {p.host!r}, a host of environment {env} "
            f"({entry!r}){_written(_raw(topo, (*p.path, 'host')))}",
            path=(*p.path, "host"),
            subject=(p.name, p.host),
            related=_env_path(topo, env),
            fix=f"run {p.name} on a host of environment {claims.own}",
        )


def _connects(topo: Topology, claims: _Claims, p: Process, s: Socket) -> Iterator[Fact]:
    """Each connect of socket ``s`` of ``p`` to a host of an environment of the other
    class."""
    own = claims.own
    for e in s.connects:
        host = target_host(e, p, topo)
        if host is None:
            continue
        hit = claims.foreign(host)
        if not hit:
            continue
        env, entry = hit
        how = e.text if e.kind != "ref" else f"{e.text} (on host {host!r})"
        yield Fact(
            f"topology {topo.name!r} of environment {own}: {s.type.upper()} socket "
            f"{s.id} connects to {how}, a host of environment {env} "
            f"({entry!r}){_written(e.raw)}",
            path=e.path,
            subject=(s.id, host),
            related=_env_path(topo, env),
            fix=f"connect to a host of environment {own} (a variable with a {own} default)",
        )


def _raw(topo: Topology, path: Path) -> str:
    node = topo.document.data
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return ""
    return node if isinstance(node, str) else ""


def _written(raw: str) -> str:
    """Say how a host arrived when a variable supplied it."""
    return f" (resolved from {raw!r})" if "${" in raw else ""


def _env_path(topo: Topology, env: str) -> tuple[Path, ...]:
    return (("environments", env),) if env in topo.environments else ()
