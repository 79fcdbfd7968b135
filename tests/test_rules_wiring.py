"""Wiring rules (TL1): behaviour beyond the catalogue fixtures."""

from __future__ import annotations

import textwrap

import pytest

from topolint.lint.engine import Settings, loads, run_rules
from topolint.lint.findings import Finding


def _run(text: str, *rules: str) -> list[Finding]:
    doc = "topolint: 1\nname: t\nruns: continuous\n" + textwrap.dedent(text)
    return run_rules(loads(doc), Settings(select=list(rules) or ["TL1"], use_environ=False))


# -- curve-mismatch ---------------------------------------------------------------------------

CURVE = """
processes:
  b:
    replicas: 2
    sockets: {{s: {{type: {b}, bind: "{where}"{bc}}}}}
  c:
    replicas: 3
    sockets: {{s: {{type: {c}, connect: {to}{cc}}}}}
"""


def _curve(
    bc: str,
    cc: str,
    b: str = "pull",
    c: str = "push",
    where: str = "tcp://*:7000",
    to: str = "b.s",
) -> list[Finding]:
    bc = f", curve: {bc}" if bc else ""
    cc = f", curve: {cc}" if cc else ""
    text = CURVE.format(b=b, c=c, bc=bc, cc=cc, where=where, to=to)
    return _run(text, "curve-mismatch")


@pytest.mark.parametrize(
    ("bc", "cc", "said"),
    [
        ("", "client", "(curve: client) connects to b.s (no CURVE)"),
        ("server", "", "(no CURVE) connects to b.s (curve: server)"),
        ("", "server", "CURVE, the other NULL"),
        ("client", "", "CURVE, the other NULL"),
        ("server", "server", "both ends are CURVE servers"),
        ("client", "client", "both ends are CURVE clients"),
    ],
)
def test_curve_mismatch_is_an_error_once_per_pair(bc: str, cc: str, said: str) -> None:
    (f,) = _curve(bc, cc)  # 2 x 3 replica connections, one finding
    assert f.severity.value == "error"
    assert said in f.message and "never carries data" in f.message
    assert f.element == "processes.c.sockets.s.connect"  # the connecting endpoint
    assert f.subject == ("c.s", "b.s")


@pytest.mark.parametrize(("bc", "cc"), [("", ""), ("server", "client"), ("client", "server")])
def test_curve_mismatch_silent_on_a_client_server_pair_or_no_curve(bc: str, cc: str) -> None:
    assert _curve(bc, cc) == []


def test_curve_mismatch_counts_a_bidirectional_pair_once() -> None:
    (f,) = _curve("server", "", b="router", c="dealer")
    assert "DEALER socket c.s" in f.message
    assert f.fix is not None and "curve: client on c.s" in f.fix


def test_curve_mismatch_fix_names_the_end_to_change() -> None:
    (f,) = _curve("", "client")
    assert f.fix is not None and "curve: server on b.s" in f.fix
    (f,) = _curve("server", "server")
    assert f.fix is not None and "one of c.s, b.s" in f.fix


def test_curve_mismatch_silent_over_inproc_and_unresolved() -> None:
    text = """
    processes:
      p:
        sockets:
          a: {type: pull, bind: "inproc://x"}
          b: {type: push, connect: "inproc://x", curve: client}
          c: {type: push, connect: "tcp://elsewhere:9000", curve: client}
    """
    assert _run(text, "curve-mismatch") == []


def test_curve_mismatch_with_tcp_endpoints_on_one_host() -> None:
    found = _curve("", "client", to='"tcp://localhost:7000"')
    assert len(found) == 1


# -- one root cause, one finding: followers folded into unresolved-endpoint ------------------

TYPO = """
messages:
  frame: {max_size: 1kB, encoding: pickle}
processes:
  camera:
    sockets:
      out: {type: push, bind: "tcp://127.0.0.1:7000", sends: frame, linger: 0}
  worker:
    sockets:
      in: {type: pull, connect: CONNECT, receives: frame}
"""

WIRING_AND_PICKLE = ["unresolved-endpoint", "dead-output", "unsafe-deserialization"]


def _typo(connect: str, *rules: str) -> list[Finding]:
    return _run(TYPO.replace("CONNECT", connect), *(rules or WIRING_AND_PICKLE))


@pytest.mark.parametrize(
    "connect",
    ["camra.out", "camera.otu", '"tcp://camera-host:7000"'],
)
def test_one_typo_one_finding(connect: str) -> None:
    """Issue 13: one typo in an endpoint gave three findings (two errors)."""
    (f,) = _typo(connect)
    assert f.rule == "unresolved-endpoint"
    notes = {r.get("rule"): r for r in f.related}
    assert set(notes) == {"dead-output", "unsafe-deserialization"}
    dead = notes["dead-output"]
    assert dead["element"] == "processes.camera.sockets.out" and dead["line"] == 10
    assert "also dead-output (TL104, warning)" in dead["message"]
    assert notes["unsafe-deserialization"]["severity"] == "error"


@pytest.mark.parametrize("connect", ["camra.out", '"tcp://camera-host:7000"'])
def test_followers_stand_alone_when_the_root_is_not_reported(connect: str) -> None:
    found = _typo(connect, "dead-output", "unsafe-deserialization")
    assert sorted(f.rule for f in found) == ["dead-output", "unsafe-deserialization"]
    assert all(not f.related or "rule" not in f.related[0] for f in found)


def test_followers_stand_alone_when_the_root_is_suppressed() -> None:
    text = TYPO.replace("CONNECT", "camra.out") + "\n"
    text = text.replace(
        "receives: frame}\n", "receives: frame}  # topolint: ignore[unresolved-endpoint] external\n"
    )
    found = _run(text, *WIRING_AND_PICKLE)
    assert sorted(f.rule for f in found) == ["dead-output", "unsafe-deserialization"]


def test_an_independent_exposure_is_not_folded() -> None:
    """The pickle socket also binds a wildcard: that is its own problem, not the typo's."""
    text = TYPO.replace("CONNECT", "camra.out").replace(
        "in: {type: pull,", 'in: {type: pull, bind: "tcp://*:7100",'
    )
    found = _run(text, *WIRING_AND_PICKLE)
    assert sorted(f.rule for f in found) == ["unresolved-endpoint", "unsafe-deserialization"]


def test_a_dead_output_nobody_meant_is_not_folded() -> None:
    text = TYPO.replace("CONNECT", "zzz.qqq")
    found = _run(text, "unresolved-endpoint", "dead-output")
    assert sorted(f.rule for f in found) == ["dead-output", "unresolved-endpoint"]


def test_dead_output_names_the_connect_that_meant_it() -> None:
    (f,) = _typo("camra.out", "dead-output")
    assert "camra.out does not resolve: meant for camera.out?" in f.message
    assert f.follows == ("?camra.out",)


def test_fold_only_into_a_root_at_least_as_severe() -> None:
    doc = "topolint: 1\nname: t\nruns: continuous\n" + textwrap.dedent(
        TYPO.replace("CONNECT", "camra.out")
    )
    settings = Settings(
        select=WIRING_AND_PICKLE, severity={"unresolved-endpoint": "warning"}, use_environ=False
    )
    found = run_rules(loads(doc), settings)
    # the warning root takes the warning follower, never the error one
    assert sorted(f.rule for f in found) == ["unresolved-endpoint", "unsafe-deserialization"]


def test_every_follows_names_an_existing_rule() -> None:
    from topolint.lint.engine import catalogue, rule_follows

    names = {r.name for r in catalogue()}
    declared = {r.name: rule_follows(r) for r in catalogue() if rule_follows(r)}
    assert {"dead-output", "unsafe-deserialization"} <= set(declared)
    for rule, roots in declared.items():
        assert set(roots) <= names - {rule}, rule
