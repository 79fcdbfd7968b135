"""The engine: load files, run the rule catalogue, stamp and filter findings.

Rules yield :class:`~topolint.findings.Fact`; the engine adds the rule's name, code and
(possibly overridden) severity, resolves element paths to positions, applies
``select``/``ignore`` and suppressions, de-duplicates and sorts.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

from topolint.errors import InputError, UsageError
from topolint.findings import Fact, Finding, Severity
from topolint.loader import Document, load_file, load_text
from topolint.model import Topology, build_topology
from topolint.rule import RuleInfo

TOPOLOGY_SUFFIXES = (".yaml", ".yml", ".json")
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


@lru_cache(maxsize=1)
def catalogue() -> tuple[RuleInfo, ...]:
    """Every rule, discovered from the ``topolint.rules`` package, sorted by code."""
    import topolint.rules as pkg

    infos = []
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if mod.ispkg:
            continue
        module = importlib.import_module(mod.name)
        if hasattr(module, "NAME") and hasattr(module, "check"):
            infos.append(RuleInfo.from_module(module))
    names = [r.name for r in infos]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise RuntimeError(f"duplicate rule names: {sorted(dupes)}")
    return tuple(sorted(infos, key=lambda r: r.code))


def rule_by_name(name: str) -> RuleInfo:
    for r in catalogue():
        if name in (r.name, r.code):
            return r
    raise UsageError(f"unknown rule {name!r}; `topolint rules` lists them")


def matches(rule: RuleInfo, selector: str) -> bool:
    """A selector is a rule name, a code, a code prefix (``TL1``) or ``ALL``."""
    sel = selector.strip()
    return sel in ("ALL", rule.name, rule.family) or (
        sel.upper().startswith("TL") and rule.code.startswith(sel.upper())
    )


def validate_selectors(selectors: Iterable[str]) -> None:
    cats = catalogue()
    for s in selectors:
        if not any(matches(r, s) for r in cats):
            raise UsageError(f"unknown rule or code {s!r}; `topolint rules` lists them")


@dataclass
class Settings:
    """What to run and how to grade it (from the command line and configuration)."""

    select: list[str] = field(default_factory=lambda: ["ALL"])
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)  # rule name/code -> severity
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> options
    fail_on: str = "warning"
    variables: dict[str, str] = field(default_factory=dict)
    use_environ: bool = True
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)

    def enabled(self, file: str = "") -> list[RuleInfo]:
        ignore = list(self.ignore)
        if file and self.per_file_ignores:
            import fnmatch

            for pattern, sels in self.per_file_ignores.items():
                if fnmatch.fnmatch(file, pattern) or fnmatch.fnmatch(
                    os.path.basename(file), pattern
                ):
                    ignore += sels
        return [
            r
            for r in catalogue()
            if any(matches(r, s) for s in self.select) and not any(matches(r, s) for s in ignore)
        ]

    def severity_of(self, rule: RuleInfo) -> Severity:
        for key in (rule.name, rule.code):
            if key in self.severity:
                return Severity(self.severity[key])
        return rule.severity

    def options_of(self, rule: RuleInfo) -> dict[str, Any]:
        return {**rule.options, **self.options.get(rule.name, {})}


def is_topology(data: Any) -> bool:
    """Does this look like a topology (native or FairMQ) rather than some other YAML/JSON?"""
    return isinstance(data, dict) and (
        "topolint" in data or "processes" in data or "fairMQOptions" in data
    )


def parse(
    doc: Document, variables: Mapping[str, str] | None = None, *, use_environ: bool = True
) -> Topology:
    """Validate a loaded document (native or FairMQ) and build its model."""
    from topolint import schema

    if not isinstance(doc.data, dict):
        raise InputError("expected a mapping at the top level (a topology)", doc.file, 1, 1)
    if "fairMQOptions" in doc.data:
        from topolint.fairmq import to_native

        doc = to_native(doc)
    schema.validate(doc)
    return build_topology(doc, variables, use_environ=use_environ)


def load(
    path: FsPath | str,
    variables: Mapping[str, str] | None = None,
    *,
    use_environ: bool = True,
    display: str | None = None,
) -> Topology:
    """Read, validate and model one topology file."""
    return parse(load_file(FsPath(path), display), variables, use_environ=use_environ)


def loads(
    text: str, file: str = "<string>", variables: Mapping[str, str] | None = None
) -> Topology:
    """Parse a topology from text (YAML, or JSON when ``file`` ends in ``.json``)."""
    return parse(load_text(text, file), variables, use_environ=False)


def run_rules(topology: Topology, settings: Settings | None = None) -> list[Finding]:
    """Run the enabled rules on one topology; return sorted, suppressed, de-duplicated findings."""
    from topolint.context import Context
    from topolint.graph import build_graph

    settings = settings or Settings()
    wiring = build_graph(topology)
    ctx = Context(topology, wiring)
    doc = topology.document
    findings: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for rule in settings.enabled(topology.file):
        ctx.options = settings.options_of(rule)
        severity = settings.severity_of(rule)
        for fact in rule.check(ctx):
            key = (rule.name, fact.path, fact.subject, fact.message)
            if key in seen:
                continue
            seen.add(key)
            findings.append(stamp(rule, severity, fact, doc))
    findings = apply_suppressions(findings, doc)
    findings.sort(key=Finding.sort_key)
    return findings


def stamp(rule: RuleInfo, severity: Severity, fact: Fact, doc: Document) -> Finding:
    pos = doc.finding_position(fact.path)
    related = tuple(
        {"file": doc.file, "line": p.line, "column": p.column, "element": ".".join(map(str, r))}
        for r in fact.related
        for p in [doc.position(r)]
    )
    return Finding(
        rule=rule.name,
        code=rule.code,
        severity=severity,
        message=fact.message,
        file=doc.file,
        line=pos.line,
        column=pos.column,
        path=tuple(fact.path),
        subject=tuple(fact.subject),
        related=related,
        fix=fact.fix,
        data=dict(fact.data),
    )


def _json_ignores(doc: Document, path: tuple[Any, ...]) -> list[str] | None:
    """``x-topolint-ignore`` on the element or an ancestor (JSON has no comments)."""
    node = doc.data
    found: list[str] | None = None
    for part in ((), *[path[: i + 1] for i in range(len(path))]):
        if part:
            try:
                node = node[part[-1]]
            except (KeyError, IndexError, TypeError):
                break
        if isinstance(node, dict) and "x-topolint-ignore" in node:
            v = node["x-topolint-ignore"]
            found = (found or []) + ([v] if isinstance(v, str) else list(v or []))
    return found


def _selects(f: Finding, selector: str) -> bool:
    sel = selector.strip()
    return sel in (f.rule, "all", "ALL") or (
        sel.upper().startswith("TL") and f.code.startswith(sel.upper())
    )


def apply_suppressions(findings: list[Finding], doc: Document) -> list[Finding]:
    """Drop findings suppressed by comments or ``x-topolint-ignore``; mark used suppressions."""
    by_line: dict[int, list[Any]] = {}
    file_level: list[Any] = []
    for s in doc.suppressions:
        (file_level if s.file_level else by_line.setdefault(s.line, [])).append(s)
    kept = []
    for f in findings:
        suppressed = False
        for s in file_level + by_line.get(f.line, []):
            if not s.rules or any(_selects(f, r) for r in s.rules):
                s.used = True
                suppressed = True
        if not suppressed and "x-topolint-ignore" in doc.text:
            ign = _json_ignores(doc, f.path)
            if ign is not None and (not ign or any(_selects(f, r) for r in ign)):
                suppressed = True
        if not suppressed:
            kept.append(f)
    return kept


def discover(paths: Iterable[str]) -> list[FsPath]:
    """Files to check: named files as given; folders scanned for YAML/JSON (no symlink loops)."""
    out: list[FsPath] = []
    for p in paths:
        path = FsPath(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(TOPOLOGY_SUFFIXES):
                        out.append(FsPath(root) / name)
        else:
            out.append(path)
    return out


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    topologies: list[Topology] = field(default_factory=list)


def check_paths(
    paths: Iterable[str], settings: Settings | None = None, *, scanning: bool | None = None
) -> CheckResult:
    """Check files and folders.  Files that are not topologies are skipped when found by
    scanning a folder or when ``scanning`` is true (pre-commit hands over every YAML file)."""
    settings = settings or Settings()
    result = CheckResult()
    paths = list(paths)
    explicit = {FsPath(p) for p in paths if not FsPath(p).is_dir()}
    for file in discover(paths):
        display = _display(file)
        try:
            doc = load_file(file, display)
            if not is_topology(doc.data) and (scanning or file not in explicit):
                result.skipped.append(display)
                continue
            result.files.append(display)
            result.sources[display] = doc.text
            topo = parse(doc, settings.variables, use_environ=settings.use_environ)
        except InputError as e:
            if display not in result.files:
                result.files.append(display)
            result.errors.append(e)
            continue
        result.topologies.append(topo)
        result.findings.extend(run_rules(topo, settings))
    result.findings.sort(key=Finding.sort_key)
    return result


def _display(file: FsPath) -> str:
    try:
        rel = os.path.relpath(file)
    except ValueError:
        return str(file)
    return str(file) if rel.startswith("..") else rel


def fails(findings: Iterable[Finding], fail_on: str) -> bool:
    level = Severity(fail_on).rank
    return any(f.severity.rank >= level for f in findings)
