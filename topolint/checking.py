"""``topolint check``: configuration, the engine, baselines and reporters put together."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topolint import __version__
from topolint.config import Config, find_config, load_config
from topolint.engine import CheckResult, Settings, check_paths, discover, fails, validate_selectors
from topolint.errors import InputError, UsageError
from topolint.findings import Finding

FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")


def settings_for(
    config: Config,
    *,
    select: list[str],
    ignore: list[str],
    fail_on: str | None,
    variables: dict[str, str],
) -> Settings:
    """Command-line values win over the configuration's."""
    s = Settings()
    s.select = select or list(config.get("select", ["ALL"])) + list(config.get("extend-select", []))
    s.ignore = list(config.get("ignore", [])) + ignore
    s.severity = dict(config.get("severity", {}))
    s.options = {k: dict(v) for k, v in config.get("rules", {}).items()}
    s.per_file_ignores = dict(config.get("per-file-ignores", {}))
    s.fail_on = fail_on or config.get("fail-on", "warning")
    s.variables = {**config.get("variables", {}), **variables}
    if s.fail_on not in ("error", "warning", "info"):
        raise UsageError(f"--fail-on expects error, warning or info, got {s.fail_on!r}")
    validate_selectors([*s.select, *s.ignore, *s.severity])
    for sels in s.per_file_ignores.values():
        validate_selectors(sels)
    from topolint.engine import rule_by_name

    for name, opts in s.options.items():
        rule = rule_by_name(name)
        unknown = set(opts) - set(rule.options)
        if unknown:
            raise UsageError(
                f"unknown option(s) {sorted(unknown)} for rule {rule.name}; "
                f"it has: {', '.join(rule.options) or 'none'}"
            )
    return s


@dataclass
class Baseline:
    fingerprints: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["findings"]
            return cls({e["fingerprint"]: e for e in entries})
        except OSError as e:
            raise InputError(f"cannot read baseline: {e.strerror}", str(path)) from None
        except (ValueError, KeyError, TypeError):
            raise InputError("not a topolint baseline file", str(path)) from None

    @staticmethod
    def write(path: Path, findings: list[Finding]) -> None:
        entries = [
            {
                "fingerprint": f.fingerprint,
                "rule": f.rule,
                "file": f.file,
                "element": f.element,
                "message": f.message,
            }
            for f in findings
        ]
        entries.sort(key=lambda e: (e["file"], e["rule"], e["element"], e["fingerprint"]))
        path.write_text(
            json.dumps({"version": 1, "findings": entries}, indent=2) + "\n", encoding="utf-8"
        )


def _check(
    paths: list[str], cli: dict[str, Any], config_path: Path | None, scanning: bool
) -> tuple[CheckResult, str]:
    """Run the engine, grouping files by their nearest configuration."""
    if config_path is not None:
        configs = {config_path: load_config(config_path)}
        groups: dict[Path | None, list[str]] = {config_path: list(paths)}
    else:
        configs = {}
        groups = {}
        for p in paths:
            files = [str(f) for f in discover([p])] if Path(p).is_dir() else [p]
            for f in files:
                found = find_config(Path(f))
                groups.setdefault(found, []).append(f)
                if found is not None and found not in configs:
                    configs[found] = load_config(found)
    total = CheckResult()
    fail_on = "warning"
    for cfg_path, files in groups.items():
        config = configs.get(cfg_path, Config()) if cfg_path else Config()
        settings = settings_for(config, **cli)
        fail_on = settings.fail_on
        r = check_paths(files, settings, scanning=scanning or any(Path(p).is_dir() for p in paths))
        total.findings += r.findings
        total.errors += r.errors
        total.files += r.files
        total.skipped += r.skipped
        total.sources.update(r.sources)
    total.findings.sort(key=Finding.sort_key)
    return total, fail_on


def run_check(
    paths: list[str],
    *,
    fmt: str | None,
    select: list[str],
    ignore: list[str],
    fail_on: str | None,
    variables: dict[str, str],
    config: Path | None,
    outputs: list[str],
    baseline: Path | None,
    write_baseline: Path | None,
    scanning: bool,
    color: bool | None,
) -> int:
    """Check, report and return the exit code."""
    from topolint.engine import catalogue
    from topolint.reporters import Report, render

    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    targets: list[tuple[str, Path | None]] = [(fmt, None)]
    for o in outputs:
        name, sep, filename = o.partition(":")
        if not sep or not filename:
            raise UsageError(f"--output-file expects FORMAT:FILE, got {o!r}")
        targets.append((name, Path(filename)))
    for name, _ in targets:
        if name not in FORMATS:
            raise UsageError(f"unknown format {name!r}: expected one of {', '.join(FORMATS)}")
    for p in paths:
        if not Path(p).exists():
            raise InputError("no such file or directory", p)
    cli = {"select": select, "ignore": ignore, "fail_on": fail_on, "variables": variables}
    result, level = _check(paths, cli, config, scanning)
    extra: dict[str, Any] = {"skipped": result.skipped}
    findings = result.findings
    if write_baseline is not None:
        Baseline.write(write_baseline, findings)
        print(
            f"topolint: wrote {len(findings)} finding(s) to baseline {write_baseline}",
            file=sys.stderr,
        )
    if baseline is not None:
        known = Baseline.read(baseline).fingerprints
        current = {f.fingerprint for f in findings}
        new = [f for f in findings if f.fingerprint not in known]
        fixed = [e for fp, e in known.items() if fp not in current]
        extra["baseline"] = {
            "file": str(baseline),
            "known": len(findings) - len(new),
            "fixed": fixed,
        }
        findings = new
    if result.errors:
        extra["errors"] = [e.to_dict() for e in result.errors]
    report = Report(
        findings=findings,
        rules=list(catalogue()),
        files=result.files,
        sources=result.sources,
        root=Path.cwd(),
        tool_version=__version__,
        extra=extra,
    )
    for e in result.errors:
        print(str(e), file=sys.stderr)
    use_color = sys.stdout.isatty() and "NO_COLOR" not in os.environ if color is None else color
    for name, target in targets:
        text = render(name, report, color=use_color and target is None and name == "text")
        if target is None:
            sys.stdout.write(text)
        else:
            target.write_text(text, encoding="utf-8")
    if baseline is not None and extra["baseline"]["fixed"] and fmt == "text":
        print(
            f"topolint: {len(extra['baseline']['fixed'])} baseline finding(s) fixed",
            file=sys.stderr,
        )
    if result.errors:
        return 2
    return 1 if fails(findings, level) else 0
