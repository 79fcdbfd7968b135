"""Start-up rules: slow-joiner and sleep-synchronization (problem 1 of the talk)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from topolint.lint.engine import Settings, catalogue, load, loads, run_rules
from topolint.lint.findings import Finding

TALK = Path(__file__).resolve().parent.parent / "fixtures" / "talk"


def _run(text: str, *rules: str) -> list[Finding]:
    return run_rules(loads(text), Settings(select=list(rules), use_environ=False))


def _pubsub(pub: str, sub: str = "", messages: str = "{max_size: 64B}") -> str:
    return f"""
topolint: 1
name: t
messages:
  greeting: {messages}
processes:
  publisher:
    count: 1
    sockets:
      out: {{type: pub, bind: "tcp://*:7891", sends: greeting, {pub}}}
  subscriber:
    replicas: 2
    sockets:
      in: {{type: sub, connect: publisher.out, subscribe: [""], receives: greeting, {sub}}}
"""


def test_talk_pubsub_hello_fires_slow_joiner_only() -> None:
    topo = load(TALK / "pubsub-hello.yaml", use_environ=False)
    found = run_rules(topo, Settings(select=["TL2"], use_environ=False))
    assert [(f.rule, f.element) for f in found] == [
        ("slow-joiner", "processes.publisher.sockets.out")
    ]
    assert "subscriber" in found[0].message
    assert found[0].severity.value == "error"


def test_talk_pubsub_hello_sleep_fires_sleep_synchronization_only() -> None:
    topo = load(TALK / "pubsub-hello-sleep.yaml", use_environ=False)
    found = run_rules(topo, Settings(select=["TL2"], use_environ=False))
    assert [(f.rule, f.element) for f in found] == [
        ("sleep-synchronization", "processes.publisher.sockets.out.sync")
    ]
    assert "proves nothing" in found[0].message


@pytest.mark.parametrize("sync", ["subscription-events", "handshake"])
def test_proving_synchronisation_is_silent(sync: str) -> None:
    assert _run(_pubsub(f"sync: {sync}"), "TL2") == []


def test_welcome_fires_and_says_it_proves_only_the_connection() -> None:
    (f,) = _run(_pubsub("sync: welcome"), "slow-joiner")
    assert f.element == "processes.publisher.sockets.out.sync"
    assert "not that its subscription has reached the publisher" in f.message
    assert f.subject == ("publisher.out", "subscriber[0]", "subscriber[1]")


def test_socket_loss_tolerance_overrides_the_message_type() -> None:
    strict_type = "{max_size: 64B, loss_tolerant: false}"
    assert _run(_pubsub("loss_tolerant: true", messages=strict_type), "TL2") == []
    tolerant_type = "{max_size: 64B, loss_tolerant: true}"
    assert _run(_pubsub("sync: none", messages=tolerant_type), "TL2") == []
    (f,) = _run(_pubsub("loss_tolerant: false", messages=tolerant_type), "slow-joiner")
    assert "socket publisher.out declares loss_tolerant: false" in f.message


def test_sleep_on_a_loss_tolerant_stream_is_silent() -> None:
    tolerant_type = "{max_size: 64B, loss_tolerant: true}"
    assert _run(_pubsub("sync: sleep", messages=tolerant_type), "TL2") == []


def test_loss_tolerance_is_decided_per_subscriber() -> None:
    # A tolerant subscriber socket wins over the publisher's silence ...
    assert _run(_pubsub("sync: none", sub="loss_tolerant: true"), "slow-joiner") == []
    # ... and over a strict message type; a strict one is named alone.
    text = (
        _pubsub("", messages="{max_size: 64B, loss_tolerant: false}")
        + """  archive:
    sockets:
      in: {type: sub, connect: publisher.out, subscribe: [""], receives: greeting}
  viewer:
    sockets:
      in: {type: sub, connect: publisher.out, subscribe: [""], loss_tolerant: true}
"""
    )
    (f,) = _run(text, "slow-joiner")
    assert f.subject == ("publisher.out", "archive", "subscriber[0]", "subscriber[1]")
    assert "message type 'greeting' declares loss_tolerant: false" in f.message


def test_push_and_control_publishers_are_not_checked() -> None:
    text = """
topolint: 1
name: t
processes:
  a:
    sockets:
      out: {type: push, bind: "tcp://*:1"}
      eod: {type: pub, bind: "tcp://*:2", carries: [end-of-data]}
  b:
    sockets:
      in: {type: pull, connect: a.out}
      eod: {type: sub, connect: a.eod, subscribe: [""], carries: [end-of-data]}
"""
    assert _run(text, "TL2") == []


def test_publisher_without_subscribers_is_left_to_dead_output() -> None:
    text = """
topolint: 1
name: t
processes:
  a:
    sockets:
      out: {type: pub, bind: "tcp://*:1"}
"""
    assert _run(text, "TL2") == []


def test_each_publisher_is_reported_once_with_all_its_subscribers() -> None:
    text = """
topolint: 1
name: t
processes:
  a:
    sockets:
      out: {type: xpub, bind: "tcp://*:1"}
      side: {type: pub, bind: "tcp://*:2", sync: sleep}
  b:
    replicas: 3
    sockets:
      in: {type: sub, connect: a.out, subscribe: [""]}
      side: {type: sub, connect: a.side, subscribe: [""]}
  c:
    sockets:
      in: {type: xsub, connect: a.out}
"""
    found = _run(text, "TL2")
    assert [(f.rule, f.subject) for f in found] == [
        ("slow-joiner", ("a.out", "b[0]", "b[1]", "b[2]", "c")),
        ("sleep-synchronization", ("a.side", "b[0]", "b[1]", "b[2]")),
    ]
    assert "4 subscribers (b[0], b[1], b[2], c)" in found[0].message


@pytest.mark.parametrize(
    "rule",
    [r for r in catalogue() if r.code.startswith("TL2")],
    ids=lambda r: r.name,
)
def test_documented_example_fires(rule: Any) -> None:
    snippet = re.search(r"```yaml\n(.*?)```", rule.sections["Example"], re.S)
    assert snippet is not None
    assert _run("topolint: 1\nname: example\n" + snippet.group(1), rule.name)
