"""Meta-tests that keep the rule catalogue honest (names, codes, docs, fixtures, snapshots).

Each rule ``R`` has ``fixtures/R/bad.*`` (fires R) and ``fixtures/R/good.*`` (R stays
silent), and a snapshot ``fixtures/R/bad.expected`` of R's findings on the bad fixture as
``check`` prints them (code frames included).  A missing snapshot fails; run with
``TOPOLINT_UPDATE_SNAPSHOTS=1`` to write or rewrite snapshots, then review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from topolint.lint.engine import Settings, catalogue, load, run_rules
from topolint.lint.findings import Finding
from topolint.lint.rule import SECTIONS
from topolint.reporters import Report, render

from .conftest import FIXTURES, SHARED

RULES = catalogue()
NON_RULE_DIRS = {"talk", "clean", "contracts", "diff"}
SPEC_NAMES = set(
    re.findall(r"`([a-z]+(?:-[a-z]+)+)`", (SHARED / "SPEC.md").read_text())
    if (SHARED / "SPEC.md").exists()
    else []
)


def _fixture(rule: str, kind: str) -> Path:
    found = sorted((FIXTURES / rule).glob(f"{kind}.*"))
    found = [f for f in found if f.suffix in (".yaml", ".yml", ".json")]
    assert found, f"fixtures/{rule}/{kind}.yaml (or .json) is missing"
    return found[0]


def _only(rule: str) -> Settings:
    return Settings(select=[rule], use_environ=False)


def test_names_and_codes_unique() -> None:
    names = [r.name for r in RULES]
    codes = [r.code for r in RULES]
    assert len(names) == len(set(names))
    assert len(codes) == len(set(codes))
    for r in RULES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name), r.name
        assert re.fullmatch(r"TL\d{3}", r.code), r.code


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_docs_complete(rule) -> None:
    assert rule.summary.endswith("."), rule.name
    for section in SECTIONS:
        assert len(rule.sections[section]) > 20, (rule.name, section)
    assert "```" in rule.sections["Example"], f"{rule.name}: the example shows a snippet"


def _spec_rule_names() -> set[str]:
    """The rule names of SPEC section 2 (the contract), when the shared folder is here."""
    spec = SHARED / "SPEC.md"
    if not spec.exists():
        return set()
    text = spec.read_text()
    section = text[text.index("## 2. Rules") : text.index("## 3.")]
    return set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", section))


def test_spec_rule_names_are_all_implemented() -> None:
    spec_rules = _spec_rule_names()
    if not spec_rules:
        pytest.skip("SPEC.md is not next to this checkout")
    assert spec_rules <= {r.name for r in RULES}, spec_rules - {r.name for r in RULES}


def test_every_fixture_folder_belongs_to_a_rule() -> None:
    names = {r.name for r in RULES}
    for d in FIXTURES.iterdir():
        if d.is_dir() and d.name not in NON_RULE_DIRS:
            assert d.name in names, f"fixtures/{d.name} matches no rule"


def _snapshot(findings: list[Finding], bad: Path, display: str) -> str:
    """The findings as a user sees them: the full text report, code frames included."""
    report = Report(
        findings=findings,
        rules=list(RULES),
        files=[display],
        sources={display: bad.read_text()},
        root=FIXTURES.parent,
        tool_version="snapshot",
        quiet=True,
    )
    return render("full", report, color=False)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_bad_fixture_fires_and_matches_snapshot(rule) -> None:
    bad = _fixture(rule.name, "bad")
    display = str(bad.relative_to(FIXTURES.parent))
    topo = load(bad, use_environ=False, display=display)
    findings = run_rules(topo, _only(rule.name))
    assert findings, f"{rule.name} does not fire on {bad.name}"
    assert {f.rule for f in findings} == {rule.name}
    text = _snapshot(findings, bad, display)
    snap = bad.with_name("bad.expected")
    if os.environ.get("TOPOLINT_UPDATE_SNAPSHOTS"):
        snap.write_text(text)
    assert snap.exists(), (
        f"fixtures/{rule.name}/bad.expected is missing: write it with "
        f"TOPOLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_catalogue.py -k {rule.name}"
        ", then review it"
    )
    assert text == snap.read_text()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_good_fixture_is_silent(rule) -> None:
    good = _fixture(rule.name, "good")
    topo = load(good, use_environ=False)
    findings = run_rules(topo, _only(rule.name))
    assert findings == [], [f.message for f in findings]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_findings_point_into_the_file(rule) -> None:
    bad = _fixture(rule.name, "bad")
    topo = load(bad, use_environ=False)
    lines = bad.read_text().splitlines()
    for f in run_rules(topo, _only(rule.name)):
        assert 1 <= f.line <= len(lines)
        assert f.line > 1, f"{rule.name} points at the top of the file, not at the element"


def test_readme_counts_the_rules() -> None:
    readme = (FIXTURES.parent / "README.md").read_text()
    counts = re.findall(r"lists the (\d+) rules", readme)
    assert counts == [str(len(RULES))], "README: `topolint rules` lists the N rules"
