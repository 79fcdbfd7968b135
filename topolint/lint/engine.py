"""The engine: load files, run the rule catalogue, stamp and filter findings.

Rules yield :class:`~topolint.lint.findings.Fact`; the engine adds the rule's name, code and
(possibly overridden) severity, resolves element paths to positions, applies
``select``/``ignore`` and suppressions, de-duplicates and sorts.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

from topolint.errors import InputError, NoDevices, UsageError
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Finding, Path, Position, Severity
from topolint.lint.loader import (
    SUPPRESS_RE,
    Document,
    Suppression,
    is_regular_file,
    load_text,
    read_text,
)
from topolint.lint.model import Topology, build_topology
from topolint.lint.rule import RuleInfo

#: Files a folder scan reads (FairMQ launches: DDS XML, shell scripts and CMake templates;
#: those without FairMQ content are skipped unparsed).
TOPOLOGY_SUFFIXES = (".yaml", ".yml", ".json", ".xml", ".sh", ".json.in", ".xml.in", ".sh.in")
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building big, acyclic structures.

    Loading a file and wiring it allocate hundreds of thousands of objects that all stay
    alive; every collection would walk them again (two thirds of the loading time of a
    10,000-process file).  Reference counting still frees everything acyclic at once; the
    collector resumes afterwards, as it was.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
    """The rule named ``name`` or coded ``name`` (case-insensitive: ``tl201`` is TL201)."""
    key = name.strip().lower()
    for r in catalogue():
        if key in (r.name.lower(), r.code.lower()):
            return r
    raise UsageError(f"unknown rule {name!r}{_did_you_mean(key)} (`topolint rules` lists them)")


def _did_you_mean(key: str) -> str:
    import difflib

    words = [w for r in catalogue() for w in (r.name, r.code.lower())]
    close = difflib.get_close_matches(key.lower(), words, n=1, cutoff=0.6)
    if not close:
        return ""
    hit = close[0].upper() if close[0].startswith("tl") else close[0]
    return f"; did you mean {hit!r}?"


def matches(rule: RuleInfo, selector: str) -> bool:
    """A selector is a rule name, a code, a code prefix (``TL1``), a family or ``ALL``,
    in any case."""
    sel = selector.strip()
    low = sel.lower()
    return low in ("all", rule.name, rule.family) or (
        sel.upper().startswith("TL") and rule.code.startswith(sel.upper())
    )


def validate_selectors(selectors: Iterable[str]) -> None:
    """Every selector must select some rule; an empty one selects nothing and is refused."""
    cats = catalogue()
    for s in selectors:
        if not s.strip():
            raise UsageError("empty rule selector: name a rule, a code, a code prefix or ALL")
        if not any(matches(r, s) for r in cats):
            raise UsageError(
                f"unknown rule or code {s!r}{_did_you_mean(s.strip())} "
                "(`topolint rules` lists them)"
            )


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
    allow_env: list[str] = field(default_factory=list)  # names ${VAR} may read (globs)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: the folder ``per_file_ignores`` patterns are relative to (the configuration's)
    ignores_folder: FsPath | None = None

    def enabled(self, file: str = "") -> list[RuleInfo]:
        """The rules to run on ``file``: selected, and neither ignored nor ignored for it by
        ``per_file_ignores`` (``file`` empty: the file-independent set), in catalogue order.
        """
        ignore = list(self.ignore)
        if file and self.per_file_ignores:
            from topolint.lint.config import file_ignores

            ignore += file_ignores(self.per_file_ignores, file, self.ignores_folder)
        return [
            r
            for r in catalogue()
            if any(matches(r, s) for s in self.select) and not any(matches(r, s) for s in ignore)
        ]

    def severity_of(self, rule: RuleInfo) -> Severity:
        """``rule``'s severity: the configured one (by name, then code), else the rule's own."""
        for key in (rule.name, rule.code):
            if key in self.severity:
                return Severity(self.severity[key])
        return rule.severity

    def options_of(self, rule: RuleInfo) -> dict[str, Any]:
        """``rule``'s options: its defaults (``OPTIONS``) updated by the configured ones."""
        return {**rule.options, **self.options.get(rule.name, {})}


def is_topology(data: Any) -> bool:
    """Does this look like a topology (native or FairMQ) rather than some other YAML/JSON?"""
    return isinstance(data, dict) and (
        "topolint" in data or "processes" in data or "fairMQOptions" in data
    )


def parse(
    doc: Document,
    variables: Mapping[str, str] | None = None,
    *,
    use_environ: bool = True,
    allow_env: Sequence[str] = (),
) -> Topology:
    """Validate a loaded document (native or FairMQ) and build its model.

    ``${VAR}`` reads the environment only for names matching ``allow_env`` (globs)."""
    with gc_paused():
        return _parse(doc, variables, use_environ=use_environ, allow_env=allow_env)


def _parse(
    doc: Document,
    variables: Mapping[str, str] | None = None,
    *,
    use_environ: bool = True,
    allow_env: Sequence[str] = (),
) -> Topology:
    from topolint.lint import schema

    if not isinstance(doc.data, dict):
        raise InputError("expected a mapping at the top level (a topology)", doc.file, 1, 1)
    if "fairMQOptions" in doc.data:
        from topolint.fairmq import to_native

        doc = to_native(doc, variables)
    schema.validate(doc)
    return build_topology(doc, variables, use_environ=use_environ, allow_env=allow_env)


def load(
    path: FsPath | str,
    variables: Mapping[str, str] | None = None,
    *,
    use_environ: bool = True,
    allow_env: Sequence[str] | None = None,
    display: str | None = None,
) -> Topology:
    """Read, validate and model one topology file.

    ``allow_env`` ``None``: the ``allow-env`` of the file's nearest configuration."""
    with gc_paused():
        doc = read_document(FsPath(path), display, variables)
        if allow_env is None:
            from topolint.lint.config import allow_env_for

            allow_env = allow_env_for(FsPath(path)) if use_environ and "${" in doc.text else ()
        return parse(doc, variables, use_environ=use_environ, allow_env=allow_env)


def read_document(
    path: FsPath, display: str | None = None, variables: Mapping[str, str] | None = None
) -> Document:
    """Read one file: a native topology, or any FairMQ form (detected by content) mapped
    onto the native model with positions into the file."""
    display = display or str(path)
    return document_from_text(read_text(path, display), path, display, variables)


def document_from_text(
    text: str, path: FsPath, display: str | None = None, variables: Mapping[str, str] | None = None
) -> Document:
    """:func:`read_document` of a text already read (e.g. an editor's unsaved buffer)."""
    display = display or str(path)
    if (
        "fairMQOptions" in text
        or "--channel-config" in text
        or "--mq-config" in text
        or (text.lstrip("\ufeff \t\r\n").startswith("<"))
    ):
        from topolint import fairmq

        form = fairmq.detect(text)
        if form is not None:
            return fairmq.read(text, display, form, variables, base=path)
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise InputError(
                "XML that is not a DDS topology (<topology>): topolint reads YAML/JSON "
                "topologies, FairMQ JSON, --channel-config command lines and DDS XML",
                display,
                1,
                1,
            )
    return load_text(text, display, "json" if path.suffix.lower() == ".json" else "yaml")


def loads(
    text: str, file: str = "<string>", variables: Mapping[str, str] | None = None
) -> Topology:
    """Parse a topology from text (YAML, or JSON when ``file`` ends in ``.json``)."""
    with gc_paused():
        return parse(load_text(text, file), variables, use_environ=False)


def run_rules(topology: Topology, settings: Settings | None = None) -> list[Finding]:
    """Run the enabled rules on one topology; return sorted, suppressed, de-duplicated findings.

    Parameters
    ----------
    topology
        The model (:func:`load`, :func:`loads`, :func:`parse`).
    settings
        Which rules run, their severities and options (default: every rule).

    Returns
    -------
    list of Finding
        Located in the topology's document, suppressions applied, followers folded into
        their root cause (:func:`fold_followers`), in report order.

    Examples
    --------
    >>> topo = loads(
    ...     "topolint: 1\\nname: demo\\nprocesses:\\n"
    ...     "  a: {sockets: {out: {type: push, bind: 'tcp://*:7000'}}}\\n"
    ...     "  b: {sockets: {in: {type: pull, connect: a.out}}}\\n"
    ... )
    >>> sorted({f.rule for f in run_rules(topo, Settings(select=["TL6"]))})
    ['missing-end-of-data']

    Meta rules (family ``meta``, e.g. ``unused-suppression``) run last, after suppressions
    were applied to the other rules' findings; they see what the suppressions did as
    :attr:`SuppressionContext.stale_suppressions`.
    """
    with gc_paused():
        return _run_rules(topology, settings)


def _run_rules(topology: Topology, settings: Settings | None) -> list[Finding]:
    from topolint.lint.graph import build_graph

    settings = settings or Settings()
    wiring = build_graph(topology)
    ctx = Context(topology, wiring)
    doc = topology.document
    enabled = settings.enabled(topology.file)
    regular = [r for r in enabled if r.family != META_FAMILY]
    meta = [r for r in enabled if r.family == META_FAMILY]
    seen: set[tuple[Any, ...]] = set()
    findings = _collect(regular, ctx, settings, seen)
    sites = suppression_sites(doc)
    findings = _suppress(findings, sites)
    findings = fold_followers(findings, regular)
    if meta:
        mctx = SuppressionContext(
            topology, wiring, stale_suppressions=stale_suppressions(sites, regular)
        )
        meta_findings = _collect(meta, mctx, settings, seen)
        # Only suppressions that name a meta rule explicitly silence meta findings: a blanket
        # ``# topolint: ignore`` cannot hide the report that it suppresses nothing.
        findings += _suppress(meta_findings, sites, explicit_only=True)
    findings.sort(key=Finding.sort_key)
    return findings


#: Findings of one rule listed per file (the rest are counted): see :func:`_collect`.
MAX_FINDINGS_PER_RULE = 1_000


def _collect(
    rules: list[RuleInfo], ctx: Context, settings: Settings, seen: set[tuple[Any, ...]]
) -> list[Finding]:
    """Run ``rules`` and stamp their facts, skipping facts already reported.

    At most :data:`MAX_FINDINGS_PER_RULE` findings of one rule are kept per file; the rest
    are counted in one more finding of that rule at the top of the file, so that a file
    that repeats one mistake a hundred thousand times is reported in bounded memory.
    """
    out: list[Finding] = []
    doc = ctx.topology.document
    for rule in rules:
        ctx.options = settings.options_of(rule)
        severity = settings.severity_of(rule)
        kept = more = 0
        for fact in rule.check(ctx):
            if kept >= MAX_FINDINGS_PER_RULE:
                more += 1
                continue
            key = (rule.name, fact.path, fact.subject, fact.message)
            if key not in seen:
                seen.add(key)
                kept += 1
                out.append(stamp(rule, severity, fact, doc))
        if more:
            note = Fact(
                f"{more:,} more {rule.name} findings in this file are not listed (at most "
                f"{MAX_FINDINGS_PER_RULE:,} per rule and file)",
                path=(),
                subject=("more",),
            )
            out.append(stamp(rule, severity, note, doc))
    return out


def stamp(rule: RuleInfo, severity: Severity, fact: Fact, doc: Document) -> Finding:
    """Turn a rule's fact into a finding: code, severity, file, line and column.

    Parameters
    ----------
    rule
        The rule that yielded ``fact`` (its name and code are stamped).
    severity
        The severity the settings give the rule (:meth:`Settings.severity_of`).
    fact
        What the rule found; ``fact.path`` is the element at fault, ``fact.related`` other
        elements to point at.  A fact about a comment (``data["line"]``, ``data["column"]``)
        is placed there instead.
    doc
        The document the topology came from: positions of every element.

    Returns
    -------
    Finding
        The finding, located at the element (or comment), with its related locations.
    """
    pos = doc.finding_position(fact.path)
    related = tuple(
        {"file": doc.file, "line": p.line, "column": p.column, "element": ".".join(map(str, r))}
        for r in fact.related
        for p in [doc.position(r)]
    )
    if isinstance(fact.data.get("line"), int):  # a fact about a comment, not an element
        pos = Position(fact.data["line"], int(fact.data.get("column", 1)))
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
        follows=tuple(fact.follows),
        edit=fact.edit,
    )


def rule_follows(rule: RuleInfo) -> tuple[str, ...]:
    """The rules whose findings imply ``rule``'s (its module's ``FOLLOWS``)."""
    import sys

    module = sys.modules.get(getattr(rule.check, "__module__", ""))
    return tuple(getattr(module, "FOLLOWS", ()))


def fold_followers(findings: list[Finding], rules: Sequence[RuleInfo]) -> list[Finding]:
    """One root cause, one finding: fold findings that follow from another into it.

    A rule module declares ``FOLLOWS = ("unresolved-endpoint", ...)``, the rules whose
    findings can cause its own, and each fact names what it follows from in
    ``Fact.follows`` (subject keys of the root findings, e.g. ``"?camra.out"``).  A finding
    is folded when, for every key, a reported finding of one of those rules has the key in
    its ``subject`` and is at least as severe: it is dropped and becomes a ``related`` note
    of the root (the root matching its first key, preferring one that shares its subject),
    so the report shows the cause once with its consequences.  Runs after suppressions: a
    root that was suppressed or not selected folds nothing, and the follower stands alone.
    One level: a root is never itself folded away with its notes.
    """
    follows = {r.name: set(rule_follows(r)) for r in rules}
    roots = set().union(*follows.values()) if follows else set()
    if not roots:
        return findings
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        if f.rule in roots:
            for key in f.subject:
                by_key.setdefault(key, []).append(f)
    folded: set[int] = set()
    for f in findings:
        of = follows.get(f.rule)
        if not f.follows or not of or id(f) in folded:
            continue
        hosts = [
            [
                g
                for g in by_key.get(key, ())
                if g.rule in of and g is not f and g.severity.rank >= f.severity.rank
            ]
            for key in f.follows
        ]
        if not all(hosts):
            continue
        mine = set(f.subject)
        host = max(hosts[0], key=lambda g: len(mine & set(g.subject)))
        host.related = (
            *host.related,
            {
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "element": f.element,
                "message": f"also {f.rule} ({f.code}, {f.severity.value}), "
                f"from this cause: {f.message}",
                "rule": f.rule,
                "code": f.code,
                "severity": f.severity.value,
            },
        )
        folded.add(id(f))
    return [f for f in findings if id(f) not in folded] if folded else findings


META_FAMILY = "meta"
IGNORE_KEY = "x-topolint-ignore"
_BLANKET = ("all", "ALL")


@dataclass(eq=False)
class SuppressionSite:
    """One suppression and what it did.

    ``scope`` is ``line`` (a ``# topolint: ignore[...]`` comment: findings on that line),
    ``file`` (``# topolint: ignore-file[...]``: the whole file) or ``element`` (an
    ``x-topolint-ignore`` key: findings on that element and inside it).  ``names`` are the
    rule selectors it lists (empty: every rule); ``used`` the ones that silenced a finding
    (``""`` for a blanket suppression).  ``line``/``column`` locate the comment or key;
    ``path`` is the element it sits on (for fingerprints).
    """

    scope: str
    names: tuple[str, ...]
    line: int
    column: int
    path: Path = ()
    element: Path = ()
    reason: str = ""
    comment: Suppression | None = None
    on_element: bool = True
    used: set[str] = field(default_factory=set)

    def covers(self, f: Finding) -> bool:
        """Whether this suppression's scope takes in ``f`` (its file, its line, or the element
        and what lies inside it); which rules it names is checked elsewhere.
        """
        if self.scope == "file":
            return True
        if self.scope == "line":
            return f.line == self.line
        return tuple(f.path[: len(self.element)]) == self.element

    @property
    def blanket(self) -> bool:
        """Whether it silences every rule (no names, or a name such as ``all``)."""
        return not self.names or any(n in _BLANKET for n in self.names)


@dataclass(frozen=True)
class StaleSuppression:
    """A suppression that silenced nothing (``unused`` names; ``("",)`` for a blanket one),
    names rules that do not exist (``unknown``), or sits on a line without an element."""

    site: SuppressionSite
    unused: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    misplaced: bool = False


@dataclass
class SuppressionContext(Context):
    """What meta rules see: the usual context plus the suppressions that did nothing."""

    stale_suppressions: list[StaleSuppression] = field(default_factory=list)


@lru_cache(maxsize=256)
def _rules_of(selector: str) -> tuple[RuleInfo, ...]:
    """The rules a suppression's selector names (``all``: every non-meta rule)."""
    sel = selector.strip()
    if sel in _BLANKET:
        return tuple(r for r in catalogue() if r.family != META_FAMILY)
    return tuple(r for r in catalogue() if matches(r, sel))


def _selects(f: Finding, selector: str) -> bool:
    return any(r.name == f.rule for r in _rules_of(selector))


def suppression_sites(doc: Document) -> list[SuppressionSite]:
    """Every suppression in ``doc``: comments (YAML only) and ``x-topolint-ignore`` keys."""
    sites: list[SuppressionSite] = []
    if doc.format != "json" and doc.suppressions:
        lines = doc.text.splitlines()
        starts: dict[int, tuple[int, Path]] = {}
        for table in (doc.key_pos, doc.value_pos):
            for path, pos in table.items():
                best = starts.get(pos.line)
                if best is None or (pos.column, -len(path)) < (best[0], -len(best[1])):
                    starts[pos.line] = (pos.column, path)
        for s in doc.suppressions:
            text = lines[s.line - 1] if 0 < s.line <= len(lines) else ""
            m = SUPPRESS_RE.search(text)
            column = m.start() + 1 if m else 1
            element = starts.get(s.line)
            sites.append(
                SuppressionSite(
                    scope="file" if s.file_level else "line",
                    names=s.rules,
                    line=s.line,
                    column=column,
                    path=element[1] if element else (),
                    reason=s.reason,
                    comment=s,
                    on_element=s.file_level or element is not None,
                )
            )
    if IGNORE_KEY in doc.text:
        stack: list[tuple[Path, Any]] = [((), doc.data)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, dict):
                if IGNORE_KEY in node:
                    value = node[IGNORE_KEY]
                    items = [value] if isinstance(value, str) else value
                    names = tuple(
                        str(v).strip() for v in (items if isinstance(items, list) else [items])
                    )
                    key_path = (*path, IGNORE_KEY)
                    pos = doc.position(key_path)
                    sites.append(
                        SuppressionSite(
                            scope="element",
                            names=tuple(n for n in names if n),
                            line=pos.line,
                            column=pos.column,
                            path=key_path,
                            element=path,
                        )
                    )
                stack += [((*path, k), v) for k, v in node.items() if k != IGNORE_KEY]
            elif isinstance(node, list):
                stack += [((*path, i), v) for i, v in enumerate(node)]
    return sites


class _Bucket:
    """The (site, name) pairs of the suppressions that cover one scope (the file, a line or
    an element), by the findings they silence: any rule, any non-meta rule, or one rule.
    A pair is marked used at the first finding it silences and then dropped from the
    pending list; the list itself stays, so later findings are still silenced."""

    __slots__ = ("anyone", "by_rule", "non_meta")

    def __init__(self) -> None:
        self.anyone: list[tuple[SuppressionSite, str]] | None = None
        self.non_meta: list[tuple[SuppressionSite, str]] | None = None
        self.by_rule: dict[str, list[tuple[SuppressionSite, str]]] = {}

    def silences(self, rule: str, meta: bool) -> bool:
        hit = False
        for pending in (
            self.anyone,
            None if meta else self.non_meta,
            self.by_rule.get(rule),
        ):
            if pending is not None:
                hit = True
                for site, name in pending:
                    site.used.add(name)
                pending.clear()
        return hit


def _suppress(
    findings: list[Finding], sites: list[SuppressionSite], *, explicit_only: bool = False
) -> list[Finding]:
    """Drop the findings that a site covers and names; record which names were used.

    Linear in findings plus suppressions: sites are indexed by what they cover and by the
    rules they name, so a finding looks only at the sites of its file, line and element
    (and its ancestors), and each name of a site is marked used once.
    """
    if not sites:
        return findings
    whole = _Bucket()
    lines: dict[int, _Bucket] = {}
    elements: dict[Path, _Bucket] = {}
    for site in sites:
        if site.scope == "file":
            bucket = whole
        elif site.scope == "line":
            bucket = lines.get(site.line) or lines.setdefault(site.line, _Bucket())
        else:
            bucket = elements.get(site.element) or elements.setdefault(site.element, _Bucket())
        if not site.names and not explicit_only:
            if bucket.anyone is None:
                bucket.anyone = []
            bucket.anyone.append((site, ""))
        for name in site.names:
            if not name:
                continue
            if name.strip() in _BLANKET:
                if not explicit_only:
                    if bucket.non_meta is None:
                        bucket.non_meta = []
                    bucket.non_meta.append((site, name))
                continue
            for r in _rules_of(name):
                bucket.by_rule.setdefault(r.name, []).append((site, name))
    meta = _meta_rule_names()
    kept = []
    for f in findings:
        is_meta = f.rule in meta
        suppressed = whole.silences(f.rule, is_meta)
        b = lines.get(f.line)
        if b is not None and b.silences(f.rule, is_meta):
            suppressed = True
        if elements:
            path = tuple(f.path)
            for k in range(len(path) + 1):
                b = elements.get(path[:k])
                if b is not None and b.silences(f.rule, is_meta):
                    suppressed = True
        if not suppressed:
            kept.append(f)
    for site in sites:
        if site.comment is not None:
            site.comment.used = bool(site.used)
    return kept


@lru_cache(maxsize=1)
def _meta_rule_names() -> frozenset[str]:
    return frozenset(r.name for r in catalogue() if r.family == META_FAMILY)


def apply_suppressions(findings: list[Finding], doc: Document) -> list[Finding]:
    """Drop findings suppressed by comments or ``x-topolint-ignore``; mark used comments.

    A ``# topolint: ignore[rule] reason`` comment silences that rule's findings on its line
    (the line a finding points at: for an element spanning several lines, its first);
    ``# topolint: ignore-file[rule]`` the whole file; an ``x-topolint-ignore`` key (a rule
    or a list) findings on its element and inside it.  Without a rule list: every rule.
    Rules are named by name, code, code prefix (``TL5``) or family.
    """
    return _suppress(findings, suppression_sites(doc))


def stale_suppressions(
    sites: list[SuppressionSite], ran: Iterable[RuleInfo]
) -> list[StaleSuppression]:
    """The sites that silenced nothing, judged only for rules that ran: a suppression for a
    rule that was not selected (or is ignored for this file) might still be needed."""
    ran_names = {r.name for r in ran}
    non_meta = {r.name for r in catalogue() if r.family != META_FAMILY}
    every_rule_ran = non_meta <= ran_names
    verdicts: dict[str, str] = {}  # selector -> unknown | meta | ran | not-ran (once each)

    def verdict(name: str) -> str:
        v = verdicts.get(name)
        if v is None:
            rules = _rules_of(name)
            if not rules:
                v = "unknown"
            elif any(r.family == META_FAMILY for r in rules) and name not in _BLANKET:
                v = "meta"  # judged by nothing: meta findings are made after this
            else:
                v = "ran" if {r.name for r in rules} <= ran_names else "not-ran"
            verdicts[name] = v
        return v

    out = []
    for site in sites:
        if not site.on_element:
            out.append(StaleSuppression(site, misplaced=True))
            continue
        unused: list[str] = []
        unknown: list[str] = []
        if not site.names and every_rule_ran and "" not in site.used:
            unused.append("")
        for name in site.names:
            v = verdict(name)
            if v == "unknown":
                unknown.append(name)
            elif v == "ran" and name not in site.used:
                unused.append(name)
        if unused or unknown:
            out.append(StaleSuppression(site, tuple(unused), tuple(unknown)))
    return out


def discover(paths: Iterable[str]) -> list[FsPath]:
    """Files to check: named files as given; folders scanned for YAML/JSON (no symlink loops).

    Scanning keeps only regular files (by ``stat``, nothing is opened): a named pipe or a
    link to a device called ``*.yaml`` in a folder is not a topology.  A named file that is
    not regular is kept, for the loader to refuse with its name.
    """
    out: list[FsPath] = []
    for p in paths:
        path = FsPath(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(TOPOLOGY_SUFFIXES):
                        file = FsPath(root) / name
                        if is_regular_file(file):
                            out.append(file)
        else:
            out.append(path)
    return out


@dataclass
class CheckResult:
    """What :func:`check_paths` found: findings, input errors (one per file that could not be
    checked), the files checked and skipped (as displayed), each checked file's text by its
    displayed name, and the topologies checked.
    """

    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    topologies: list[Topology] = field(default_factory=list)


def check_paths(
    paths: Iterable[str], settings: Settings | None = None, *, scanning: bool | None = None
) -> CheckResult:
    """Check files and folders, each with the same ``settings``.

    Parameters
    ----------
    paths
        Files and folders; folders are scanned for YAML/JSON/XML (:func:`discover`).
    settings
        The rules, severities and variables (default: every rule, default severities).
    scanning
        Skip named files that are not topologies too (pre-commit hands over every YAML
        file); files found by scanning a folder are always skipped when they are not.

    Returns
    -------
    CheckResult
        The findings of every file (sorted), one input error per file that could not be
        checked, and the files checked and skipped.
    """
    settings = settings or Settings()
    result = CheckResult()
    paths = list(paths)
    explicit = {FsPath(p) for p in paths if not FsPath(p).is_dir()}
    for file in discover(paths):
        display = _display(file)
        try:
            with gc_paused():
                try:
                    doc: Document | None = read_document(file, display, settings.variables)
                except NoDevices:  # e.g. DDS tasks without FairMQ channels: nothing to check
                    doc = None
            if doc is None or (not is_topology(doc.data) and (scanning or file not in explicit)):
                result.skipped.append(display)
                continue
            result.files.append(display)
            result.sources[display] = doc.text
            topo = parse(
                doc,
                settings.variables,
                use_environ=settings.use_environ,
                allow_env=settings.allow_env,
            )
        except InputError as e:
            if display not in result.files:
                result.files.append(display)
            result.errors.append(e)
            continue
        try:
            findings = run_rules(topo, settings)
        except InputError as e:  # e.g. replicas that multiply into too many connections
            result.errors.append(e)
            continue
        result.topologies.append(topo)
        result.findings.extend(findings)
    result.findings.sort(key=Finding.sort_key)
    return result


def _display(file: FsPath) -> str:
    try:
        rel = os.path.relpath(file)
    except ValueError:
        return str(file)
    return str(file) if rel.startswith("..") else rel


def fails(findings: Iterable[Finding], fail_on: str) -> bool:
    """Whether any of ``findings`` is at least as severe as ``fail_on``.

    Parameters
    ----------
    findings
        The findings to grade.
    fail_on
        The least severity that fails: ``error``, ``warning`` or ``info``.

    Returns
    -------
    bool
        ``True`` when the findings make a check fail (exit 1).

    Examples
    --------
    >>> fails([], "info")
    False
    """
    level = Severity(fail_on).rank
    return any(f.severity.rank >= level for f in findings)
