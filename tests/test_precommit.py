"""The pre-commit hook, run for real: ``pre-commit try-repo`` installs this repository into
its own virtualenv and runs the ``topolint`` hook on a sample git repository.

The hook repository is a copy of the working tree committed to a temporary git repository
(so uncommitted changes are tested too).  Installing the hook's environment downloads the
build backend and dependencies (a minute or so); the environment is shared by the runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

#: Not part of the installable package.
NOT_PACKAGE = {
    ".git",
    "tests",
    "fixtures",
    "benchmarks",
    "docs",
    "build",
    "dist",
    ".ci",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".benchmarks",
    ".venv",
}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "topolint tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "topolint tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def _pre_commit() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    probe = subprocess.run(
        [sys.executable, "-m", "pre_commit", "--version"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    return [sys.executable, "-m", "pre_commit"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's package files, committed to a fresh git repository."""
    dst = tmp_path_factory.mktemp("hooks")
    for p in ROOT.iterdir():
        if p.name in NOT_PACKAGE or p.name.endswith(".egg-info"):
            continue
        if p.is_dir():
            shutil.copytree(p, dst / p.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, dst / p.name)
    _git(dst, "init", "-q")
    _git(dst, "add", "-A")
    _git(dst, "commit", "-q", "-m", "hooks")
    return dst


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _sample(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    return root


def _try_repo(
    sample: Path, hooks: Path, home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update(GIT_ENV, PRE_COMMIT_HOME=str(home), NO_COLOR="1")
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(hooks), "topolint", "--color", "never", *args],
        cwd=sample,
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )


GOOD = (ROOT / "fixtures" / "unused-suppression" / "good.yaml").read_text()
BAD = (ROOT / "fixtures" / "dead-output" / "bad.yaml").read_text()
OTHER_YAML = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n---\nkind: Service\n"
OTHER_JSON = '{"name": "web", "version": "1.0.0"}\n'


def test_hooks_file_declares_the_topolint_hook() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "topolint"
    assert hook["entry"] == "topolint check --skip-non-topologies"
    assert hook["language"] == "python"
    assert hook["require_serial"] is True
    assert set(hook["types_or"]) == {"yaml", "json"}
    assert hook["minimum_pre_commit_version"]


def test_try_repo_fails_on_findings_and_skips_other_yaml(
    tmp_path: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    sample = _sample(
        tmp_path,
        {
            "topologies/good.yaml": GOOD,
            "topologies/bad.yaml": BAD,
            "deploy/k8s.yaml": OTHER_YAML,
            "package.json": OTHER_JSON,
            "README.md": "# not linted\n",
        },
    )
    r = _try_repo(sample, hook_repo, pre_commit_home, "--all-files")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "topolint" in out and "Failed" in out
    assert "topologies/bad.yaml:8:7: TL104 [warning] dead-output" in out
    assert "k8s.yaml" not in out and "package.json" not in out  # skipped, not errors
    assert "Found " in out and out.count("Found ") == 1  # one process, one summary


def _documented_config(hooks: Path) -> str:
    """The example ``.pre-commit-config.yaml`` of docs/pre-commit.md, pointed at ``hooks``."""
    text = (ROOT / "docs" / "pre-commit.md").read_text()
    block = re.search(r"```yaml\n(# \.pre-commit-config\.yaml.*?)```", text, re.S)
    assert block, "docs/pre-commit.md shows an example .pre-commit-config.yaml"
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True
    ).stdout.strip()
    config = block.group(1)
    config = re.sub(r"repo: \S+", f"repo: {hooks}", config, count=1)
    return re.sub(r"rev: \S+", f"rev: {rev}", config, count=1)


def test_documented_config_with_project_configuration_and_baseline(
    tmp_path: Path, hook_repo: Path, pre_commit_home: Path
) -> None:
    config = _documented_config(hook_repo)
    assert yaml.safe_load(config)["repos"][0]["hooks"][0]["id"] == "topolint"
    sample = _sample(tmp_path, {".pre-commit-config.yaml": config, "bad.yaml": BAD})
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env.update(GIT_ENV, PRE_COMMIT_HOME=str(pre_commit_home), NO_COLOR="1")

    def run() -> subprocess.CompletedProcess[str]:
        _git(sample, "add", "-A")
        return subprocess.run(
            [*_pre_commit(), "run", "--all-files", "--color", "never"],
            cwd=sample,
            capture_output=True,
            text=True,
            env=env,
            timeout=1200,
        )

    r = run()
    assert r.returncode == 1 and "dead-output" in r.stdout, r.stdout + r.stderr
    # a baseline accepts today's findings (written by the same command line)
    baseline = sample / "topolint-baseline.json"
    subprocess.run(
        [sys.executable, "-m", "topolint", "check", "--write-baseline", str(baseline), "."],
        cwd=sample,
        capture_output=True,
        check=True,
    )
    (sample / ".pre-commit-config.yaml").write_text(
        config.replace("# args: [--baseline", "args: [--baseline")
    )
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr
    # the project's configuration applies too: a new dead output, ignored there
    (sample / "bad.yaml").write_text(
        BAD + "  extra:\n    sockets:\n      tap: {type: pub, bind: 'tcp://*:7999'}\n"
    )
    r = run()
    assert r.returncode == 1 and "extra.tap" in r.stdout, r.stdout
    (sample / "pyproject.toml").write_text('[tool.topolint]\nignore = ["dead-output"]\n')
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout
