"""The documentation that ships in the repository stays in step with the code.

- ``docs/rules/<name>.md``: one page per rule of the catalogue, generated from its docstring
  (``python -m topolint.docs``), up to date, linked from SARIF ``helpUri`` and ``explain``;
- every repository file a rule's documentation cites exists (nothing outside the repository);
- the project URL the links derive from is the one in ``pyproject.toml``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from topolint import docs
from topolint.lint.engine import catalogue
from topolint.lint.rule import DOCS_URL, HELP_URI, REPOSITORY_URL

from .conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
RULES = catalogue()


def test_rule_pages_are_up_to_date() -> None:
    problems = docs.differences()
    assert not problems, "\n".join([*problems, "run `python -m topolint.docs` to regenerate"])


def test_one_page_per_rule_of_the_catalogue() -> None:
    pages = {p.stem for p in (ROOT / "docs" / "rules").glob("*.md")} - {"README"}
    assert pages == {r.name for r in RULES}
    index = (ROOT / "docs" / "rules" / "README.md").read_text()
    for r in RULES:
        assert f"[{r.name}]({r.name}.md)" in index


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_page_has_code_severity_options_and_example(rule) -> None:
    page = (ROOT / "docs" / "rules" / f"{rule.name}.md").read_text()
    assert page.splitlines()[2] == f"# {rule.name} ({rule.code})"
    assert f"| default severity | {rule.severity.value} |" in page
    for option in rule.options:
        assert f"`{option}` (default " in page
        assert f"[tool.topolint.rules.{rule.name}]" in page
    for title in ("What it finds", "Why it matters", "Example", "Fix"):
        assert f"\n## {title}\n" in page
    assert "```yaml" in page or "```json" in page
    # every relative link points at a file of the repository
    for target in re.findall(r"\]\((\.\./\.\./[^)]+)\)", page):
        assert (ROOT / "docs" / "rules" / target).resolve().is_file(), target


def test_docs_cite_only_what_ships() -> None:
    """No rule documentation cites a notes file or other text outside the repository."""
    for r in RULES:
        assert not re.search(r"\bnotes\b.*\.md|notes/|seed/", r.docs), r.name
        for path in re.findall(r"`((?:docs|fixtures|rules|topolint|benchmarks)/[^`\s]+)`", r.docs):
            assert (ROOT / path).exists(), (r.name, path)


def test_help_uri_points_into_the_repository_docs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Homepage"] == REPOSITORY_URL
    assert project["urls"]["Documentation"] == DOCS_URL
    for r in RULES:
        assert r.help_uri == f"{REPOSITORY_URL}/blob/main/docs/rules/{r.name}.md"
        assert r.help_uri.startswith(DOCS_URL + "/")
        rel = r.help_uri.removeprefix(DOCS_URL + "/")
        assert (ROOT / "docs" / rel).is_file(), r.help_uri
    assert "readthedocs" not in HELP_URI


def test_explain_links_the_shipped_page() -> None:
    r = run_cli("explain", "slow-joiner")
    assert r.returncode == 0, r.stderr
    assert "docs/rules/slow-joiner.md" in r.stdout
    assert "notes" not in r.stdout


def test_generator_check_mode(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    assert docs.differences(folder)  # nothing there yet
    docs.write(folder)
    assert docs.differences(folder) == []
    (folder / "no-such-rule.md").write_text("x")
    (folder / f"{RULES[0].name}.md").write_text("edited by hand")
    problems = docs.differences(folder)
    assert any(p.startswith("stale:") for p in problems)
    assert any(p.startswith("left over") for p in problems)
    docs.write(folder)
    assert docs.differences(folder) == [] and not (folder / "no-such-rule.md").exists()
