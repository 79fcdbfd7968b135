"""Files at the size cap are checked in bounded memory or refused up front (issue 12)."""

from __future__ import annotations

from pathlib import Path

from topolint.lint.engine import MAX_FINDINGS_PER_RULE
from topolint.lint.loader import MAX_EVENTS

from .conftest import run_cli


def test_a_file_with_more_elements_than_the_cap_is_refused_before_it_is_built(
    tmp_path: Path,
) -> None:
    # 100,000 processes x 10 sockets needed 12 GB; the element count stops it at the parser
    f = tmp_path / "many.yaml"
    f.write_text(
        "topolint: 1\nname: many\nprocesses: {}\nx-list: [" + "1," * (MAX_EVENTS + 10) + "1]\n"
    )
    r = run_cli("check", str(f))
    assert r.returncode == 2
    assert f"more than {MAX_EVENTS:,} YAML/JSON elements" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_one_mistake_repeated_is_listed_a_bounded_number_of_times(tmp_path: Path) -> None:
    n = MAX_FINDINGS_PER_RULE + 200
    lines = ["topolint: 1", "name: repeated", "runs: continuous", "processes:"]
    for i in range(n):
        lines.append(f"  p{i}: {{sockets: {{in: {{type: pull, connect: nowhere{i}.out}}}}}}")
    f = tmp_path / "repeated.yaml"
    f.write_text("\n".join(lines) + "\n")
    r = run_cli("check", "--format", "json", "--select", "unresolved-endpoint", str(f))
    assert r.returncode == 1
    import json

    findings = json.loads(r.stdout)["findings"]
    assert len(findings) == MAX_FINDINGS_PER_RULE + 1
    summary = [x for x in findings if "not listed" in x["message"]]
    assert len(summary) == 1 and summary[0]["line"] == 1
    assert summary[0]["message"].startswith("200 more unresolved-endpoint findings")


def test_a_json_file_with_too_many_elements_is_refused_before_json_builds_them(
    tmp_path: Path,
) -> None:
    f = tmp_path / "many.json"
    f.write_text('{"topolint": 1, "x-a": [' + "{}," * (MAX_EVENTS + 1) + "{}]}")
    r = run_cli("check", str(f))
    assert r.returncode == 2
    assert f"more than {MAX_EVENTS:,} JSON elements" in r.stderr + r.stdout


def test_fairmq_num_sockets_are_counted_not_expanded(tmp_path: Path) -> None:
    # a 157-byte file once asked for 1.6 GB and 200 MB of output
    devices = ",".join(
        f'{{"id":"d{i}","channels":[{{"name":"c","type":"push","numSockets":100000}}]}}'
        for i in range(5)
    )
    f = tmp_path / "num.json"
    f.write_text('{"fairMQOptions":{"devices":[' + devices + "]}}")
    r = run_cli("check", "--format", "json", str(f))
    assert r.returncode in (0, 1), r.stderr
    assert len(r.stdout) < 200_000
    r = run_cli("import", "fairmq", str(f))
    assert r.returncode == 0 and r.stdout.count("sockets: 100000") == 5


def test_fairmq_sockets_beyond_the_topology_cap_are_refused(tmp_path: Path) -> None:
    devices = ",".join(
        f'{{"id":"d{i}","channels":[{{"name":"c","type":"push","numSockets":100000}}]}}'
        for i in range(11)
    )
    f = tmp_path / "num.json"
    f.write_text('{"fairMQOptions":{"devices":[' + devices + "]}}")
    r = run_cli("check", str(f))
    assert r.returncode == 2
    assert "more than 1,000,000 sockets" in r.stderr + r.stdout
