"""``topolint server`` end to end: the real server driven over stdio by a JSON-RPC client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from topolint.lsp.client import LspClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lsp")
    for name in ("sub-without-subscription", "blocking-cycle"):
        shutil.copy(ROOT / "fixtures" / name / "bad.yaml", d / f"{name}.yaml")
    shutil.copy(ROOT / "fixtures" / "talk" / "pubsub-hello.yaml", d / "pubsub-hello.yaml")
    return d


@pytest.fixture(scope="module")
def client(work: Path) -> Iterator[LspClient]:
    c = LspClient(cwd=work)
    caps = c.initialize(work)["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"]
    assert caps["documentSymbolProvider"] and caps["codeActionProvider"]
    yield c
    assert c.close() == 0


def _open(client: LspClient, path: Path) -> tuple[str, list[dict]]:
    uri = path.as_uri()
    client.open(uri, path.read_text())
    return uri, client.diagnostics(uri)[1]


def _check_json(path: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "topolint", "check", path.name, "--format", "json"],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.stdout)["findings"]


def test_diagnostics_are_the_findings_of_check(client: LspClient, work: Path) -> None:
    path = work / "blocking-cycle.yaml"
    _, diags = _open(client, path)
    expected = _check_json(path)
    assert sorted((d["code"], d["range"]["start"]["line"] + 1) for d in diags) == sorted(
        (f["code"], f["line"]) for f in expected
    )
    sev = {"error": 1, "warning": 2, "info": 3}
    for d, f in zip(
        sorted(diags, key=lambda d: (d["range"]["start"]["line"], d["code"])),
        sorted(expected, key=lambda f: (f["line"], f["code"])),
        strict=True,
    ):
        assert d["severity"] == sev[f["severity"]]
        assert d["source"] == "topolint"
        assert d["codeDescription"]["href"].endswith(f"{f['rule']}.md")
        assert d["range"]["start"]["character"] == f["column"] - 1
    related = [d for d in diags if d.get("relatedInformation")]
    assert related, "blocking-cycle points at the other processes of the cycle"
    loc = related[0]["relatedInformation"][0]["location"]
    assert loc["uri"] == path.as_uri()


def test_configuration_is_discovered_like_check(client: LspClient, work: Path) -> None:
    sub = work / "configured"
    sub.mkdir()
    (sub / ".topolint.yaml").write_text("ignore: [sub-without-subscription]\n")
    shutil.copy(work / "sub-without-subscription.yaml", sub / "t.yaml")
    _, diags = _open(client, sub / "t.yaml")
    assert "TL105" not in {d["code"] for d in diags}
    _, diags = _open(client, work / "sub-without-subscription.yaml")
    assert "TL105" in {d["code"] for d in diags}


def test_malformed_documents_mid_edit_never_kill_the_server(client: LspClient, work: Path) -> None:
    path = work / "pubsub-hello.yaml"
    uri, diags = _open(client, path)
    good = path.read_text()
    assert diags
    broken = [
        good.replace("processes:", "processes: ["),  # YAML syntax
        good.replace("type: pub", "type: pubb"),  # schema
        "",  # emptied
        "topolint: 1\nprocesses: " + "[" * 5000,  # nesting
        "topolint: 1\nprocesses:\n  a: &x [*x]\n",  # alias to itself
        "topolint: 1\nprocesses:\n  a:\n    sockets:\n      s: {type: push, connect: nowhere.out}\n",
        good[: len(good) // 2],  # cut mid-way
        "topolint: 1\nprocesses: {a: \x00}\n",  # a control character
    ]
    version = 1
    for text in broken:
        version += 1
        client.change(uri, version, text)
        _, diags = client.diagnostics(uri, version)
        assert client.proc.poll() is None
        if text.startswith("topolint: 1\nprocesses:\n  a:\n"):
            continue  # valid: findings, not an input error
        if text == "":
            continue  # not a topology any more: nothing to say
        assert any(d["code"] == "input-error" and d["severity"] == 1 for d in diags), text[:40]
        # asking for more on a broken document answers, without an error
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _pos(0, 0)})
        client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    version += 1
    client.change(uri, version, good)
    _, diags = client.diagnostics(uri, version)
    assert "TL201" in {d["code"] for d in diags}


def test_schema_error_is_located(client: LspClient, work: Path) -> None:
    path = work / "pubsub-hello.yaml"
    uri = path.as_uri()
    text = path.read_text().replace("type: pub,", "type: pubb,")
    client.open(uri, text)
    _, diags = client.diagnostics(uri)
    (d,) = diags
    line = next(i for i, ln in enumerate(text.splitlines()) if "pubb" in ln)
    assert d["range"]["start"]["line"] == line


def _pos(line: int, character: int) -> dict:
    return {"line": line, "character": character}


def _where(text: str, needle: str) -> dict:
    for i, line in enumerate(text.splitlines()):
        if needle in line:
            return _pos(i, line.index(needle))
    raise AssertionError(needle)


def test_hover_socket_process_endpoint(client: LspClient, work: Path) -> None:
    path = work / "pubsub-hello.yaml"
    uri, _ = _open(client, path)
    text = path.read_text()
    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": _where(text, "out:")}
    )
    value = hover["contents"]["value"]
    assert "PUB socket `publisher.out`" in value
    assert "Memory bound" in value and "SNDHWM" in value and "kernel" in value
    assert "subscriber.in" in value
    hover = client.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": _where(text, "publisher:")},
    )
    assert "process `publisher`" in hover["contents"]["value"]
    assert "Memory bound" in hover["contents"]["value"]
    assert "Utilisation" in hover["contents"]["value"]
    pos = _where(text, "tcp://localhost")
    pos["character"] += 3
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos})
    assert "Bound by `publisher.out`" in hover["contents"]["value"]


def test_definition_from_reference_and_tcp_endpoint(client: LspClient, work: Path) -> None:
    path = work / "sub-without-subscription.yaml"
    uri, _ = _open(client, path)
    text = path.read_text()
    pos = _where(text, "camera.out")
    pos["character"] += 2
    loc = client.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": pos})
    assert loc["uri"] == uri
    assert loc["range"]["start"] == _where(text, '"tcp://*:7891"')

    path = work / "pubsub-hello.yaml"
    uri, _ = _open(client, path)
    text = path.read_text()
    pos = _where(text, '"tcp://localhost:7891"')
    loc = client.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": pos})
    assert loc["range"]["start"] == _where(text, '"tcp://*:7891"')


def test_document_symbols(client: LspClient, work: Path) -> None:
    path = work / "sub-without-subscription.yaml"
    uri, _ = _open(client, path)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [(s["name"], [c["name"] for c in s["children"]]) for s in symbols] == [
        ("camera", ["out"]),
        ("viewer", ["in"]),
    ]


def test_code_action_applies_the_rule_fix(client: LspClient, work: Path) -> None:
    path = work / "sub-without-subscription.yaml"
    uri, diags = _open(client, path)
    text = path.read_text()
    d = next(d for d in diags if d["code"] == "TL105")
    actions = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": d["range"], "context": {"diagnostics": [d]}},
    )
    quick = [a for a in actions if a["kind"] == "quickfix"]
    assert quick and quick[0]["isPreferred"]
    assert "subscribe" in quick[0]["title"]
    (edit,) = quick[0]["edit"]["changes"][uri]
    lines = text.split("\n")
    s, e = edit["range"]["start"], edit["range"]["end"]
    assert s["line"] == e["line"]
    line = lines[s["line"]]
    lines[s["line"]] = line[: s["character"]] + edit["newText"] + line[e["character"] :]
    fixed = "\n".join(lines)
    client.change(uri, 50, fixed)
    _, after = client.diagnostics(uri, 50)
    assert "TL105" not in {x["code"] for x in after}
    assert any(a["kind"].startswith("source.fixAll") for a in actions)


def test_other_yaml_is_left_alone(client: LspClient, work: Path) -> None:
    path = work / "compose.yaml"
    path.write_text("services:\n  web: {image: nginx}\n")
    _, diags = _open(client, path)
    assert diags == []
