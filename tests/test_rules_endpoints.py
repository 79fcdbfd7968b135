"""Behaviour of the endpoint and security rules (TL501-TL504)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from topolint.lint.engine import Settings, load, loads, run_rules
from topolint.lint.findings import Finding

ROOT = Path(__file__).resolve().parent.parent


def run(
    rule: str, text: str, *, variables: dict[str, str] | None = None, **options: Any
) -> list[Finding]:
    topo = loads(textwrap.dedent(text), "topo.yaml", variables)
    opts = {rule: {k.replace("_", "-"): v for k, v in options.items()}} if options else {}
    return run_rules(topo, Settings(select=[rule], use_environ=False, options=opts))


# --------------------------------------------------------------------------- cross-environment


def test_talk_prod01_test_topology_reaching_production_fires() -> None:
    path = ROOT / "fixtures" / "talk" / "prod01.yaml"
    topo = load(path, use_environ=False)
    found = run_rules(topo, Settings(select=["cross-environment-endpoint"], use_environ=False))
    connect = [f for f in found if f.element == "processes.test-sender.sockets.out.connect"]
    assert len(connect) == 1
    f = connect[0]
    assert f.code == "TL502" and f.severity.value == "error"
    assert "tcp://prod01:7891" in f.message and "environment production" in f.message
    assert "'prod*'" in f.message
    line = path.read_text().splitlines()[f.line - 1]
    assert "tcp://prod01:7891" in line
    # the collector is declared on a production host in a test file: reported too
    assert any(f.element == "processes.collector.host" for f in found)


ENVS = """
topolint: 1
name: t
environment: {env}
runs: continuous
environments:
  production: {{hosts: ["prod*", "10.10.0.0/16"], networks: ["fd00:10::/32"]}}
  test: {{hosts: ["localhost", "test-*"], networks: ["10.20.0.0/16"]}}
processes:
  p:
    host: {host}
    sockets:
      out: {{type: push, connect: "tcp://{target}:7000"}}
"""


def test_cidr_in_hosts_and_ipv6_networks() -> None:
    found = run(
        "cross-environment-endpoint", ENVS.format(env="test", host="test-1", target="10.10.9.9")
    )
    assert [f.element for f in found] == ["processes.p.sockets.out.connect"]
    assert "10.10.0.0/16" in found[0].message
    found = run(
        "cross-environment-endpoint",
        ENVS.format(env="test", host="test-1", target="[fd00:10::5]"),
    )
    assert len(found) == 1 and "fd00:10::/32" in found[0].message


def test_reverse_production_topology_reaching_a_test_host() -> None:
    found = run(
        "cross-environment-endpoint", ENVS.format(env="production", host="prod-1", target="test-7")
    )
    assert len(found) == 1
    assert "environment production" in found[0].message
    assert "a host of environment test ('test-*')" in found[0].message


def test_loopback_and_undeclared_hosts_are_not_cross_environment() -> None:
    # a production topology on the default host (localhost) talking to localhost: fine,
    # although the test environment lists localhost
    text = """
    topolint: 1
    name: t
    environment: production
    runs: continuous
    environments:
      production: {hosts: ["prod*"]}
      test: {hosts: ["localhost", "127.0.0.1"]}
    processes:
      a: {sockets: {out: {type: push, bind: "tcp://*:7000"}}}
      b: {sockets: {in: {type: pull, connect: "tcp://localhost:7000"}}}
    """
    assert run("cross-environment-endpoint", text) == []


def test_loopback_resolves_to_the_connectors_production_host() -> None:
    text = ENVS.format(env="test", host="prod-9", target="127.0.0.1")
    found = run("cross-environment-endpoint", text)
    elements = sorted(f.element for f in found)
    assert elements == ["processes.p.host", "processes.p.sockets.out.connect"]


def test_variables_are_resolved_before_checking() -> None:
    text = ENVS.format(env="test", host="test-1", target="${COLLECTOR}")
    found = run("cross-environment-endpoint", text, variables={"COLLECTOR": "prod03"})
    assert len(found) == 1
    assert "prod03" in found[0].message and "${COLLECTOR}" in found[0].message
    assert run("cross-environment-endpoint", text, variables={"COLLECTOR": "test-3"}) == []
    # and the environment itself may come from a variable
    text = ENVS.format(env="${ENV:-test}", host="test-1", target="prod01")
    assert len(run("cross-environment-endpoint", text)) == 1
    found = run("cross-environment-endpoint", text, variables={"ENV": "production"})
    assert [f.element for f in found] == ["processes.p.host"]  # now the test host is foreign


def test_host_claimed_by_the_own_environment_too_is_not_reported() -> None:
    text = """
    topolint: 1
    name: t
    environment: test
    runs: continuous
    environments:
      production: {hosts: ["*.cern.ch"]}
      test: {hosts: ["test-*.cern.ch"]}
    processes:
      a: {sockets: {out: {type: push, connect: "tcp://test-db.cern.ch:7000"}}}
      b: {sockets: {out: {type: push, connect: "tcp://TEST-DB.CERN.CH:7001"}}}
      c: {sockets: {out: {type: push, connect: "tcp://db.CERN.ch:7002"}}}
    """
    found = run("cross-environment-endpoint", text)
    assert [f.element for f in found] == ["processes.c.sockets.out.connect"]


def test_without_environment_or_unclaimed_hosts_silent() -> None:
    text = ENVS.format(env="test", host="test-1", target="elsewhere")
    assert run("cross-environment-endpoint", text) == []
    no_env = "\n".join(
        line
        for line in ENVS.format(env="x", host="h", target="prod1").splitlines()
        if not line.startswith("environment:")
    )
    assert run("cross-environment-endpoint", no_env) == []


def test_production_environment_names_option() -> None:
    text = """
    topolint: 1
    name: t
    environment: dev
    runs: continuous
    environments:
      live: {hosts: ["live-*"]}
    processes:
      a: {sockets: {out: {type: push, connect: "tcp://live-1:7000"}}}
    """
    assert run("cross-environment-endpoint", text) == []
    found = run("cross-environment-endpoint", text, production_environments=["live"])
    assert len(found) == 1 and "environment live" in found[0].message


def test_invalid_network_is_reported_where_it_is_written() -> None:
    text = """
    topolint: 1
    name: t
    environment: test
    runs: continuous
    environments:
      production: {networks: ["10.10.0.0/16", "not-a-net"]}
    processes:
      a: {sockets: {out: {type: push, connect: "tcp://10.10.1.1:7000"}}}
    """
    found = run("cross-environment-endpoint", text)
    assert sorted(f.element for f in found) == [
        "environments.production.networks.1",
        "processes.a.sockets.out.connect",
    ]


# --------------------------------------------------------------------------- hardcoded


HARD = """
topolint: 1
name: t
runs: continuous
processes:
  c:
    host: daq01
    sockets: {{in: {{type: pull, bind: "tcp://*:7000"}}}}
  s:
    sockets: {{out: {{type: push, connect: "{endpoint}"}}}}
"""


def test_hardcoded_connect_suggests_the_reference() -> None:
    (f,) = run("hardcoded-endpoint", HARD.format(endpoint="tcp://daq01:7000"))
    assert f.element == "processes.s.sockets.out.connect"
    assert "'daq01'" in f.message and "c.in" in f.message
    assert f.fix == "connect by reference: connect: c.in"


def test_literal_host_with_a_variable_port_still_fires() -> None:
    found = run("hardcoded-endpoint", HARD.format(endpoint="tcp://daq01:${PORT:-7000}"))
    assert len(found) == 1


def test_variable_hosts_loopback_ipc_are_fine() -> None:
    for endpoint in (
        "tcp://${HOST}:7000",
        "tcp://${HOST:-daq01}:7000",
        "${ENDPOINT:-tcp://daq01:7000}",
        "tcp://localhost:7000",
        "tcp://127.0.0.1:7000",
        "tcp://[::1]:7000",
        "ipc:///tmp/x.sock",
        "c.in",
    ):
        found = run("hardcoded-endpoint", HARD.format(endpoint=endpoint), variables={"HOST": "x"})
        assert found == [], endpoint


def test_allow_hosts_and_allow_loopback_options() -> None:
    text = HARD.format(endpoint="tcp://daq01:7000")
    assert run("hardcoded-endpoint", text, allow_hosts=["daq*"]) == []
    assert run("hardcoded-endpoint", text, allow_hosts="DAQ0?") == []
    ip_text = HARD.format(endpoint="tcp://10.9.1.2:7000")
    assert run("hardcoded-endpoint", ip_text, allow_hosts=["10.9.0.0/16"]) == []
    assert len(run("hardcoded-endpoint", ip_text, allow_hosts=["10.8.0.0/16"])) == 1
    loop = HARD.format(endpoint="tcp://localhost:7000")
    assert len(run("hardcoded-endpoint", loop, allow_loopback=False)) == 1


def test_bind_on_an_interface_address() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    processes:
      c:
        sockets:
          a: {type: pull, bind: "tcp://192.168.1.5:7000"}
          b: {type: pull, bind: ["tcp://*:7001", "tcp://0.0.0.0:7002", "tcp://127.0.0.1:7003"]}
    """
    (f,) = run("hardcoded-endpoint", text)
    assert f.element == "processes.c.sockets.a.bind" and "192.168.1.5" in f.message


# --------------------------------------------------------------------------- unauthenticated


def test_wildcard_bind_and_cross_host_connect_without_curve() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    processes:
      c: {host: a, sockets: {in: {type: pull, bind: "tcp://*:7000"}}}
      s: {host: b, sockets: {out: {type: push, connect: "tcp://a:7000"}}}
    """
    found = run("unauthenticated-endpoint", text)
    assert sorted(f.element for f in found) == [
        "processes.c.sockets.in.bind",
        "processes.s.sockets.out.connect",
    ]
    assert all(f.code == "TL503" for f in found)
    assert run("unauthenticated-endpoint", text, trusted_hosts=["a", "b"]) == []


def test_curve_on_both_sides_or_local_only_is_silent() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    processes:
      c:
        host: a
        sockets:
          in: {type: pull, bind: "tcp://*:7000", curve: server}
          loc: {type: pull, bind: "tcp://127.0.0.1:7001"}
      s: {host: b, sockets: {out: {type: push, connect: "tcp://a:7000", curve: client}}}
      t: {host: a, sockets: {out: {type: push, connect: "tcp://localhost:7001"}}}
      u: {host: a, sockets: {out: {type: push, connect: "tcp://a:7000", curve: client}}}
    """
    assert run("unauthenticated-endpoint", text) == []


def test_reference_to_a_loopback_or_ipc_bind_on_the_same_host_is_silent() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    processes:
      c: {sockets: {in: {type: pull, bind: "ipc:///tmp/t.sock"}}}
      s: {sockets: {out: {type: push, connect: c.in}}}
    """
    assert run("unauthenticated-endpoint", text) == []


# --------------------------------------------------------------------------- unsafe pickle


PICKLE = """
topolint: 1
name: t
runs: continuous
messages:
  obj: {{encoding: pickle}}
  safe: {{encoding: msgpack}}
processes:
  a:
    owner: {owner_a}
    sockets: {{out: {{type: push, bind: "{bind}", sends: obj}}}}
  b:
    owner: {owner_b}
    sockets: {{in: {{type: pull, connect: a.out}}}}
"""


def test_pickle_between_owners_fires_on_the_receiver() -> None:
    found = run(
        "unsafe-deserialization", PICKLE.format(owner_a="x", owner_b="y", bind="ipc:///tmp/p")
    )
    assert len(found) == 1
    f = found[0]
    assert f.element == "processes.b.sockets.in"  # no receives: key, so the socket
    assert "owner 'x'" in f.message and "unpickles obj" in f.message
    assert f.related and f.related[0]["element"] == "messages.obj.encoding"


def test_pickle_inside_one_owner_on_one_host_is_fine() -> None:
    for bind in ("ipc:///tmp/p", "tcp://127.0.0.1:7000", "inproc://x"):
        text = PICKLE.format(owner_a="x", owner_b="x", bind=bind)
        if bind.startswith("inproc"):
            continue  # inproc across processes is another rule's business
        assert run("unsafe-deserialization", text) == [], bind


def test_pickle_from_outside_the_topology_or_another_host() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    messages:
      obj: {encoding: pickle}
    processes:
      b: {sockets: {in: {type: sub, connect: "tcp://feed:5556", receives: obj, subscribe: [""]}}}
      c: {host: other, sockets: {out: {type: push, connect: "tcp://localhost:7000", sends: obj}}}
      d: {host: other, sockets: {in: {type: pull, bind: "tcp://127.0.0.1:7000"}}}
      e: {sockets: {out: {type: push, connect: d.in, sends: obj}}}
    """
    found = run("unsafe-deserialization", text)
    assert sorted(f.element for f in found) == [
        "processes.b.sockets.in.receives",
        "processes.d.sockets.in",
    ]
    by = {f.element: f.message for f in found}
    assert "outside this topology" in by["processes.b.sockets.in.receives"]
    assert "another host" in by["processes.d.sockets.in"]


def test_pickled_replies_count_too() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    messages:
      q: {encoding: json}
      obj: {encoding: pickle}
    processes:
      server: {owner: x, sockets: {rep: {type: rep, bind: "ipc:///tmp/r", receives: q, sends: obj}}}
      client: {owner: y, sockets: {req: {type: req, connect: server.rep, sends: q, receives: obj}}}
    """
    (f,) = run("unsafe-deserialization", text)
    assert f.element == "processes.client.sockets.req.receives"
