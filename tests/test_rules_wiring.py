"""Wiring rules (TL1): behaviour beyond the catalogue fixtures."""

from __future__ import annotations

import textwrap

import pytest

from topolint.engine import Settings, loads, run_rules
from topolint.findings import Finding


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
