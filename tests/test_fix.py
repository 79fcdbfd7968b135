"""``topolint check --fix`` / ``--diff`` / ``--unsafe-fixes`` and the edits rules yield."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from topolint.commands.check import check_text, edit_format, settings_for_file
from topolint.lint.engine import catalogue
from topolint.lint.findings import Edit
from topolint.lint.fixes import apply, fix_text, text_edit

ROOT = Path(__file__).resolve().parent.parent
FIXING = sorted(r.name for r in catalogue() if r.fix_safety)


def _checker(path: Path):
    settings = settings_for_file(path)

    def check(text: str):
        topo, findings = check_text(text, path, settings)
        return findings, edit_format(text, topo)

    return check


def _fix(path: Path, unsafe: bool = True):
    return fix_text(path.read_text(), str(path), _checker(path), unsafe=unsafe)


def test_fixing_rules_declare_safety() -> None:
    assert {"sub-without-subscription", "end-of-data-undercounted"} <= set(FIXING)
    assert len(FIXING) >= 5
    for r in catalogue():
        assert r.fix_safety in ("", "safe", "unsafe")
        if r.fix_safety:
            assert "Automatic fix:" in r.docs


@pytest.mark.parametrize("rule", FIXING)
def test_fix_clears_the_rule_and_is_idempotent(rule: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    shutil.copy(ROOT / "fixtures" / rule / "bad.yaml", bad)
    before = bad.read_text()
    findings, _ = _checker(bad)(before)
    assert any(f.rule == rule and f.edit is not None for f in findings)
    r = _fix(bad)
    assert r.changed and r.error is None
    after, _ = _checker(bad)(r.text)
    assert not [f for f in after if f.rule == rule], r.text
    # comments and every untouched line survive, in order
    old_lines = before.splitlines()
    new_lines = r.text.splitlines()
    assert [ln for ln in old_lines if ln.lstrip().startswith("#")] == [
        ln for ln in new_lines if ln.lstrip().startswith("#")
    ]
    assert len(new_lines) >= len(old_lines)
    # a second run changes nothing
    bad.write_text(r.text)
    again = _fix(bad)
    assert not again.changed


def test_block_mapping_gets_a_line_at_its_indentation() -> None:
    text = (
        "processes:\n"
        "  viewer:\n"
        "    sockets:\n"
        "      in:\n"
        "        type: sub   # the feed\n"
        "        connect: 'camera.out'  # quoted\n"
        "  other: {}\n"
    )
    te = text_edit(text, "yaml", Edit(("processes", "viewer", "sockets", "in"), [""], "subscribe"))
    assert te is not None
    out = apply(text, [te])
    assert (
        "        connect: 'camera.out'  # quoted\n        subscribe: [\"\"]\n  other: {}\n" in out
    )


def test_existing_value_is_replaced_in_place() -> None:
    text = "a:\n  b: {sync: none, x: 1}  # keep\n"
    te = text_edit(text, "yaml", Edit(("a", "b"), "handshake", "sync"))
    assert te is not None
    assert apply(text, [te]) == "a:\n  b: {sync: handshake, x: 1}  # keep\n"


def test_json_keys_and_values_are_json() -> None:
    text = '{\n  "a": {\n    "type": "sub",\n    "connect": "c.out"\n  }\n}\n'
    te = text_edit(text, "json", Edit(("a",), [""], "subscribe"))
    assert te is not None
    out = apply(text, [te])
    assert json.loads(out) == {"a": {"type": "sub", "connect": "c.out", "subscribe": [""]}}
    assert '    "connect": "c.out",\n    "subscribe": [""]\n  }' in out


def test_scalar_replaced_by_flow_mapping() -> None:
    text = "p:\n  end_of_data: consume   # waits\n"
    te = text_edit(
        text, "yaml", Edit(("p", "end_of_data"), {"action": "consume", "timeout": "30s"})
    )
    assert te is not None
    assert apply(text, [te]) == "p:\n  end_of_data: {action: consume, timeout: 30s}   # waits\n"


def test_aliased_element_is_not_edited() -> None:
    text = "x-sock: &s {type: sub, connect: c.out}\nprocesses:\n  v:\n    sockets:\n      in: *s\n"
    assert (
        text_edit(text, "yaml", Edit(("processes", "v", "sockets", "in"), [""], "subscribe"))
        is None
    )


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topolint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_diff_fix_and_unsafe(tmp_path: Path) -> None:
    shutil.copy(ROOT / "fixtures" / "sub-without-subscription" / "bad.yaml", tmp_path / "a.yaml")
    shutil.copy(ROOT / "fixtures" / "slow-joiner" / "bad.yaml", tmp_path / "b.yaml")
    a0, b0 = (tmp_path / "a.yaml").read_text(), (tmp_path / "b.yaml").read_text()

    d = _cli("check", "a.yaml", "b.yaml", "--diff", cwd=tmp_path)
    assert d.returncode == 1, d.stderr
    assert '+      in: {type: sub, connect: camera.out, subscribe: [""]}' in d.stdout
    assert "sync: handshake" not in d.stdout  # unsafe: not without --unsafe-fixes
    assert "more fixable with --unsafe-fixes" in d.stderr
    assert (tmp_path / "a.yaml").read_text() == a0  # --diff writes nothing

    f = _cli("check", "a.yaml", "b.yaml", "--fix", "--select", "TL105", cwd=tmp_path)
    assert f.returncode == 0, f.stdout + f.stderr
    assert "subscribe" in (tmp_path / "a.yaml").read_text()
    assert (tmp_path / "b.yaml").read_text() == b0

    u = _cli("check", "b.yaml", "--fix", "--unsafe-fixes", "--select", "slow-joiner", cwd=tmp_path)
    assert u.returncode == 0, u.stdout + u.stderr
    assert "sync: handshake" in (tmp_path / "b.yaml").read_text()
    again = _cli(
        "check", "b.yaml", "--diff", "--unsafe-fixes", "--select", "slow-joiner", cwd=tmp_path
    )
    assert again.returncode == 0 and again.stdout == ""


def test_rules_lists_fix_safety(tmp_path: Path) -> None:
    out = _cli("rules", "--format", "json", cwd=tmp_path)
    rules = {r["name"]: r for r in json.loads(out.stdout)}
    assert rules["sub-without-subscription"]["fix"] == "safe"
    assert rules["slow-joiner"]["fix"] == "unsafe"
    assert rules["socket-type-mismatch"]["fix"] is None
