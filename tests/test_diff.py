"""``topolint diff``: through the real CLI for the gate, in-process for the classification."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from topolint.commands.diff import Change, diff_topologies, render
from topolint.lint.engine import loads

DIFF = Path(__file__).resolve().parent.parent / "fixtures" / "diff"


def pair(case: str) -> tuple[str, str]:
    return str(DIFF / case / "old.yaml"), str(DIFF / case / "new.yaml")


# --------------------------------------------------------------------------- through the CLI


def test_required_field_removed_breaks_the_consumer_owner(cli) -> None:
    r = cli("diff", *pair("required-field-removed"))
    assert r.returncode == 1, r.stderr
    assert "BREAKING" in r.stdout
    assert "team-b" in r.stdout and "calibrator" in r.stdout
    assert "field energy" in r.stdout
    j = cli("diff", *pair("required-field-removed"), "--format", "json")
    assert j.returncode == 1
    doc = json.loads(j.stdout)
    assert doc["breaking"] == 1
    (change,) = doc["changes"]
    assert set(change) >= {
        "kind",
        "element",
        "breaking",
        "owner",
        "affected_owners",
        "affected_processes",
        "message",
    }
    assert change["kind"] == "message-schema-changed"
    assert change["element"] == "messages.hits.schema"
    assert change["breaking"] is True and change["owner"] == "team-a"
    assert change["affected_owners"] == ["team-b"]
    assert change["affected_processes"] == ["calibrator"]
    assert "energy" in change["message"]


def test_optional_field_added_exits_0(cli) -> None:
    r = cli("diff", *pair("optional-field-added"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "added optional field quality" in r.stdout
    doc = json.loads(cli("diff", *pair("optional-field-added"), "-f", "json").stdout)
    assert doc["breaking"] == 0
    assert [c["breaking"] for c in doc["changes"]] == [False]


def test_renamed_socket_and_changed_socket_type_break_the_peer(cli) -> None:
    for case, kind in (
        ("socket-renamed", "socket-renamed"),
        ("socket-type-changed", "socket-type-changed"),
    ):
        r = cli("diff", *pair(case), "--format", "json")
        assert r.returncode == 1, case
        doc = json.loads(r.stdout)
        broken = [c for c in doc["changes"] if c["breaking"]]
        assert [c["kind"] for c in broken] == [kind]
        assert broken[0]["affected_processes"] == ["calibrator"]


def test_larger_max_size_pushes_the_other_owner_over_its_memory_limit(cli) -> None:
    r = cli("diff", *pair("max-size-grown"), "--format", "json")
    assert r.returncode == 1, r.stdout + r.stderr
    (change,) = json.loads(r.stdout)["changes"]
    assert change["kind"] == "max-size-changed"
    assert change["affected_owners"] == ["team-b"] and change["affected_processes"] == ["viewer"]
    assert "memory_limit 8 MiB" in change["message"]


def test_identical_files_and_input_errors(cli, tmp_path: Path) -> None:
    old, _ = pair("required-field-removed")
    r = cli("diff", old, old)
    assert r.returncode == 0 and "no changes" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("topolint: 1\nname: x\nprocesses: {a: {sockets: {s: {type: pusj}}}}\n")
    r = cli("diff", old, str(bad))
    assert r.returncode == 2
    assert "bad.yaml:3" in r.stderr and "Traceback" not in r.stderr
    r = cli("diff", old, old, "--format", "sarif")
    assert r.returncode == 2


def test_variables_reach_both_versions(cli, tmp_path: Path) -> None:
    text = textwrap.dedent(
        """
        topolint: 1
        name: t
        runs: continuous
        processes:
          a: {owner: x, sockets: {out: {type: push, bind: "tcp://*:${PORT}"}}}
          b: {owner: y, sockets: {in: {type: pull, connect: "tcp://localhost:7000"}}}
        """
    )
    f = tmp_path / "t.yaml"
    f.write_text(text)
    assert cli("diff", str(f), str(f), "--var", "PORT=7000").returncode == 0
    assert cli("diff", str(f), str(f)).returncode == 2  # unresolved variable: an input error


# --------------------------------------------------------------------------- classification


BASE = """
topolint: 1
name: t
runs: continuous
messages:
  hits:
    schema: {type: object, required: [id, e], properties: {id: {type: integer}, e: {type: number}}}
  strict:
    schema:
      type: object
      required: [id]
      additionalProperties: false
      properties: {id: {type: integer}, e: {type: number}}
processes:
  hitfinder:
    owner: team-a
    sockets:
      out: {type: push, bind: "tcp://*:7000", sends: hits}
  calibrator:
    owner: team-b
    sockets:
      in: {type: pull, connect: hitfinder.out, receives: hits}
  monitor:
    owner: team-a
    sockets:
      in: {type: pull, connect: "tcp://localhost:7000", receives: hits}
"""


def diff(old: str, new: str) -> list[Change]:
    return diff_topologies(
        loads(textwrap.dedent(old), "old.yaml"), loads(textwrap.dedent(new), "new.yaml")
    )


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def test_consistent_rename_on_both_sides_is_not_breaking() -> None:
    new = BASE.replace("out: {type: push", "hits: {type: push").replace(
        "connect: hitfinder.out", "connect: hitfinder.hits"
    )
    changes = diff(BASE, new)
    kinds = {c.kind for c in changes}
    assert "socket-renamed" in kinds and not breaking(changes)


def test_port_change_breaks_tcp_peers_but_not_references() -> None:
    new = BASE.replace("tcp://*:7000", "tcp://*:7001")
    (c,) = [c for c in diff(BASE, new) if c.kind == "endpoint-changed"]
    assert c.element == "processes.hitfinder.sockets.out.bind"
    # only the tcp:// connector lost its connection; calibrator connects by reference.
    # monitor is team-a's own process: listed, but not a break of another owner
    assert c.affected_processes == ["monitor"]
    assert c.affected_owners == [] and c.breaking is False
    other = BASE.replace(
        "owner: team-a\n    sockets:\n      in:", "owner: team-c\n    sockets:\n      in:"
    )
    (b,) = breaking(diff(other, other.replace("tcp://*:7000", "tcp://*:7001")))
    assert b.kind == "endpoint-changed" and b.affected_owners == ["team-c"]


def test_process_removed_breaks_its_consumers() -> None:
    new = BASE.replace(
        '  hitfinder:\n    owner: team-a\n    sockets:\n      out: {type: push, bind: "tcp://*:7000", sends: hits}\n',
        "",
    )
    changes = diff(BASE, new)
    (b,) = breaking(changes)
    assert b.kind == "process-removed" and b.affected_owners == ["team-b"]
    assert b.affected_processes == ["calibrator", "monitor"]


def test_sends_a_type_that_does_not_satisfy_the_consumer() -> None:
    old = BASE
    new = BASE.replace("sends: hits", "sends: strict")
    (b,) = breaking(diff(old, new))
    assert b.kind == "message-type-changed"
    assert b.element == "processes.hitfinder.sockets.out.sends"
    assert b.affected_owners == ["team-b"]  # monitor is team-a's own: affected, not broken
    assert b.affected_processes == ["calibrator", "monitor"]
    assert "field e" in b.full_message


def test_optional_field_into_a_consumer_that_forbids_extra_fields_breaks() -> None:
    old = BASE.replace("receives: hits}\n  monitor", "receives: strict}\n  monitor").replace(
        "sends: hits", "sends: strict"
    )
    new = old.replace(
        "properties: {id: {type: integer}, e: {type: number}}}\n  strict",
        "properties: {id: {type: integer}, e: {type: number}}}\n  strict",
    ).replace(
        "additionalProperties: false\n      properties: {id: {type: integer}, e: {type: number}}",
        "additionalProperties: false\n      properties: {id: {type: integer}, e: {type: number}, q: {}}",
    )
    changes = diff(old, new)
    (b,) = breaking(changes)
    assert b.kind == "message-schema-changed" and "q" in b.full_message


def test_encoding_change_breaks() -> None:
    old = BASE.replace("  hits:\n", "  hits:\n    encoding: msgpack\n")
    new = BASE.replace("  hits:\n", "  hits:\n    encoding: json\n")
    (b,) = breaking(diff(old, new))
    assert b.kind == "encoding-changed" and b.affected_owners == ["team-b"]


def test_without_owners_every_cross_process_break_counts() -> None:
    old = BASE.replace("    owner: team-a\n", "").replace("    owner: team-b\n", "")
    new = old.replace("required: [id, e]", "required: [id]")
    (b,) = breaking(diff(old, new))
    assert b.owner is None and b.affected_owners == []
    assert b.affected_processes == ["calibrator", "monitor"]


def test_curve_on_one_side_only_breaks() -> None:
    new = BASE.replace(
        'bind: "tcp://*:7000", sends: hits', 'bind: "tcp://*:7000", sends: hits, curve: server'
    )
    (b,) = breaking(diff(BASE, new))
    assert b.kind == "curve-changed" and b.affected_owners == ["team-b"]


def test_non_breaking_changes_are_listed() -> None:
    new = BASE.replace(
        "sockets:\n      out:", 'sockets:\n      dbg: {type: pub, bind: "tcp://*:7100"}\n      out:'
    )
    new = new.replace("sends: hits}", "sends: hits, sndhwm: 10}")
    changes = diff(BASE, new)
    assert {c.kind for c in changes} == {"socket-added", "socket-options-changed"}
    assert not breaking(changes)
    text = render(changes, "text", old="a", new="b")
    assert "2 changes, 0 breaking" in text


def test_schema_files_are_compared_per_version(tmp_path: Path, cli) -> None:
    topo = textwrap.dedent(
        """
        topolint: 1
        name: t
        runs: continuous
        messages:
          hits: {schema: schemas/hits.json}
        processes:
          a: {owner: x, sockets: {out: {type: push, bind: "tcp://*:7000", sends: hits}}}
          b: {owner: y, sockets: {in: {type: pull, connect: a.out, receives: hits}}}
        """
    )
    for version, required in (("old", ["id", "e"]), ("new", ["id"])):
        (tmp_path / version / "schemas").mkdir(parents=True)
        (tmp_path / version / "t.yaml").write_text(topo)
        (tmp_path / version / "schemas" / "hits.json").write_text(
            json.dumps({"type": "object", "required": required})
        )
    r = cli("diff", str(tmp_path / "old" / "t.yaml"), str(tmp_path / "new" / "t.yaml"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "field e" in r.stdout and "y" in r.stdout


def test_removing_one_of_several_receivers_does_not_break_the_sender() -> None:
    new = BASE.replace(
        "  monitor:\n    owner: team-a\n    sockets:\n"
        '      in: {type: pull, connect: "tcp://localhost:7000", receives: hits}\n',
        "",
    )
    changes = diff(BASE, new)
    (c,) = changes
    assert c.kind == "process-removed" and not c.breaking and c.affected_processes == []
    # the last receiver gone: the sender's PUSH has nobody left (team-b removed it)
    new = new.replace("connect: hitfinder.out", 'connect: "tcp://elsewhere:1"')
    (b,) = breaking(
        diff(new.replace('connect: "tcp://elsewhere:1"', "connect: hitfinder.out"), new)
    )
    assert b.kind == "endpoint-changed" and b.affected_owners == ["team-a"]
