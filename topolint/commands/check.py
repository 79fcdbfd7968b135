"""``topolint check``: configuration, the engine, baselines and reporters put together."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from topolint import __version__
from topolint.errors import InputError, UsageError
from topolint.lint.config import Config, file_ignores, find_config, load_config, settings_for
from topolint.lint.engine import (
    CheckResult,
    Settings,
    check_paths,
    discover,
    fails,
)
from topolint.lint.findings import Finding, unique_fingerprints
from topolint.reporters import SEVERITIES, TEXT_STYLES


@dataclass
class Baseline:
    """Known findings, by a fingerprint that ignores line numbers.

    A fingerprint is rule + file (relative to the baseline file's folder, so a baseline
    works from any working directory) + element path + subject; findings alike in all of
    these are told apart by message, then by rank.
    """

    fingerprints: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """Read a baseline: a regular JSON file of bounded size, in the shape :meth:`write`
        writes; anything else is an :class:`InputError` naming the file (and the entry)."""
        from topolint.lint.loader import read_text

        source = str(path)
        text = read_text(path, source, what="baseline")
        bad = "not a topolint baseline file"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{bad}: invalid JSON: {e.msg}", source, e.lineno, e.colno) from None
        except RecursionError:
            raise InputError(f"{bad}: nesting too deep", source) from None
        except ValueError as e:  # e.g. integers too long to convert
            raise InputError(f"{bad}: {e}", source) from None
        problem = _baseline_problem(data)
        if problem is not None:
            where, message = problem
            raise _located(text, source, where, f"{bad}: {message}")
        return cls({e["fingerprint"]: e for e in data["findings"]})

    @staticmethod
    def relative(file: str, base: Path) -> str:
        """``file`` relative to ``base`` (the baseline's folder), with forward slashes."""
        try:
            return Path(os.path.relpath(Path(file).resolve(), base.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            return Path(file).resolve().as_posix()

    @classmethod
    def fingerprints_of(cls, findings: list[Finding], path: Path) -> list[str]:
        """One fingerprint per finding (unique within the list), for a baseline at ``path``."""
        base = path.parent
        return unique_fingerprints(findings, lambda f: f.fingerprint_in(cls.relative(f.file, base)))

    @classmethod
    def write(cls, path: Path, findings: list[Finding]) -> None:
        """Write ``findings`` as the baseline file ``path`` (sorted, one entry each), into a
        regular file only; anything else is an :class:`InputError` naming it."""
        base = path.parent
        entries = [
            {
                "fingerprint": fp,
                "rule": f.rule,
                "file": cls.relative(f.file, base),
                "element": f.element,
                "message": f.message,
            }
            for f, fp in zip(findings, cls.fingerprints_of(findings, path), strict=True)
        ]
        entries.sort(key=lambda e: (e["file"], e["rule"], e["element"], e["fingerprint"]))
        data = (json.dumps({"version": 1, "findings": entries}, indent=2) + "\n").encode()
        # Never blocks on a named pipe and never writes into a device: only a regular file
        # (new or existing) is truncated and written.
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as e:  # ENXIO: a named pipe nobody reads
            why = "not a regular file" if e.errno == errno.ENXIO else e.strerror or e
            raise InputError(f"cannot write baseline: {why}", str(path)) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError("cannot write baseline: not a regular file", str(path))
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as e:
            raise InputError(f"cannot write baseline: {e.strerror or e}", str(path)) from None
        finally:
            os.close(fd)


_BASELINE_TEXT_KEYS = ("rule", "file", "element", "message")


def _baseline_problem(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    """What is wrong with a parsed baseline (where, what), or ``None``."""
    if not isinstance(data, dict):
        return (), "expected a JSON object with a 'findings' list"
    if "version" in data and data["version"] != 1:
        return ("version",), f"unsupported version {data['version']!r:.40} (expected 1)"
    entries = data.get("findings")
    if not isinstance(entries, list):
        where: tuple[str | int, ...] = ("findings",) if "findings" in data else ()
        return where, "expected a 'findings' list"
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            return ("findings", i), f"finding {i} is not an object"
        if not isinstance(e.get("fingerprint"), str):
            where = ("findings", i, "fingerprint") if "fingerprint" in e else ("findings", i)
            return where, f"finding {i} has no 'fingerprint' string"
        for key in _BASELINE_TEXT_KEYS:
            if key in e and not isinstance(e[key], str):
                return ("findings", i, key), f"finding {i}: '{key}' must be a string"
    return None


def _located(text: str, source: str, where: tuple[str | int, ...], message: str) -> InputError:
    """``message`` as an input error at the element ``where`` of the JSON ``text`` (its
    position comes from the loader, only on this error path)."""
    if not where:
        return InputError(message, source)
    from topolint.lint.loader import load_text

    try:
        doc = load_text(text, source, "json")
    except InputError:  # e.g. nested deeper than the loader goes: name the file only
        return InputError(message, source)
    pos = doc.value_position(where)
    return InputError(message, source, pos.line, pos.column)


#: A top-level ``topolint:``/``processes:`` key (YAML), such a key in JSON, or FairMQ's.
_MARKER = re.compile(
    rb'(?m)^(topolint|processes)\s*:|"(topolint|processes)"\s*:|fairMQOptions|--channel-config'
    rb"|--mq-config|<topology"
)


def _maybe_topologies(files: list[str]) -> tuple[list[str], list[str]]:
    """Split scanned files into possible topologies and files that cannot be one.

    A topology has a top-level ``topolint`` (required) or ``processes`` key, or is a FairMQ
    configuration; a file without any of them is skipped unparsed, so that YAML topolint cannot read (multi-document Kubernetes
    manifests, Helm templates) is skipped rather than reported as broken.
    """
    keep: list[str] = []
    skip: list[str] = []
    from topolint.lint.loader import ReadRefused, read_bounded

    for name in files:
        try:
            head = read_bounded(name, 1 << 20, head=True)
        except ReadRefused:
            keep.append(name)  # let the engine report it
            continue
        (keep if _MARKER.search(head) else skip).append(name)
    return keep, [_shown(Path(n)).as_posix() if Path(n).is_absolute() else n for n in skip]


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (for messages)."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _config_groups(
    paths: list[str], config_path: Path | None
) -> list[tuple[Config | InputError, list[str]]]:
    """The files below ``paths``, grouped by the configuration that applies to them:
    ``config_path`` for all, else each file's nearest (``Config()`` when none).  A
    configuration that fails to load stands as its :class:`InputError`."""
    configs: dict[Path | None, Config | InputError] = {None: Config()}
    groups: dict[Path | None, list[str]] = {}
    if config_path is not None:
        configs[config_path] = load_config(config_path)
        groups[config_path] = [str(f) for f in discover(paths)]
    else:
        for f in discover(paths):
            found = find_config(f)
            groups.setdefault(found, []).append(str(f))
            if found is not None and found not in configs:
                try:
                    configs[found] = load_config(_shown(found))
                except InputError as e:  # reported for the files below it, once
                    configs[found] = e
    return [(configs[cfg_path], files) for cfg_path, files in groups.items()]


def _by_scanning(files: list[str], named: set[Path], scanning: bool) -> dict[bool, list[str]]:
    """``files`` split by whether they were found by scanning a folder (``True``: other
    YAML is skipped there) or named on the command line (``False``: must be topologies,
    unless ``scanning``, i.e. --skip-non-topologies)."""
    subgroups: dict[bool, list[str]] = {}
    for name in files:
        key = scanning or Path(name) not in named
        subgroups.setdefault(key, []).append(name)
    return subgroups


def _check(
    paths: list[str], cli: dict[str, Any], config_path: Path | None, scanning: bool
) -> tuple[CheckResult, dict[str, str]]:
    """Run the engine, grouping files by their nearest configuration.

    Returns the result and, per checked file, the severity at which it fails.
    """
    named = {Path(p) for p in paths if not Path(p).is_dir()}
    total = CheckResult()
    levels: dict[str, str] = {}
    for config, files in _config_groups(paths, config_path):
        # A broken configuration stops the files below it; the others are still checked.
        try:
            if isinstance(config, InputError):
                raise config
            settings = settings_for(config, **cli)
        except InputError as e:
            total.errors.append(_not_checked(e, len(files)))
            continue
        for scan, group in _by_scanning(files, named, scanning).items():
            if scan:
                group, others = _maybe_topologies(group)
                total.skipped += others
            r = check_paths(group, settings, scanning=scan)
            total.findings += r.findings
            total.errors += r.errors
            total.files += r.files
            total.skipped += r.skipped
            total.sources.update(r.sources)
            for checked in r.files:
                levels[checked] = settings.fail_on
    total.findings.sort(key=Finding.sort_key)
    return total, levels


def _not_checked(error: InputError, count: int) -> InputError:
    """A configuration error, saying how many files it kept from being checked."""
    what = f"{count} file{'s' if count != 1 else ''} below it not checked"
    return InputError(f"{error.message} ({what})", error.file, error.line, error.column)


@dataclass(frozen=True)
class CheckOptions:
    """The parsed options of ``topolint check``, as the command line gives them.

    Parameters
    ----------
    paths
        Files and folders to check.
    fmt
        Output format on standard output (``None``: the configuration's ``format``, else
        ``github`` under GitHub Actions, else ``text``).
    show
        Least severity the text formats list (``None``: the configuration's ``show``,
        else ``warning``).
    select, ignore, fail_on, variables
        ``--select``, ``--ignore``, ``--fail-on`` and ``--var``: layered over each file's
        configuration.
    config
        ``--config``: one configuration for every file, instead of the nearest one.
    outputs
        ``--output-file`` values, ``FORMAT:FILE``.
    baseline, write_baseline
        ``--baseline`` (report only findings not in it) and ``--write-baseline``.
    scanning
        ``--skip-non-topologies``: named files that are not topologies are skipped too,
        and a folder without a topology is no error.
    color
        ``--color/--no-color`` (``None``: on a terminal unless ``NO_COLOR`` is set).
    fix, diff, unsafe_fixes
        ``--fix`` (write the fixes), ``--diff`` (only show them), ``--unsafe-fixes``.
    quiet
        Leave out the summary and the informational lines on standard error.
    statistics
        Print the count per rule instead of the findings (text or json).
    exit_zero
        Exit 0 despite findings (an input error is still 2).
    """

    paths: list[str]
    fmt: str | None = None
    show: str | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    config: Path | None = None
    outputs: list[str] = field(default_factory=list)
    baseline: Path | None = None
    write_baseline: Path | None = None
    scanning: bool = False
    color: bool | None = None
    fix: bool = False
    diff: bool = False
    unsafe_fixes: bool = False
    quiet: bool = False
    statistics: bool = False
    exit_zero: bool = False

    @property
    def cli(self) -> dict[str, Any]:
        """The command-line values layered over each configuration (``settings_for``)."""
        return {
            "select": self.select,
            "ignore": self.ignore,
            "fail_on": self.fail_on,
            "variables": self.variables,
        }


@dataclass
class _BaselineOutcome:
    """What ``--baseline`` did to the findings: the report's ``baseline`` entry and the
    baseline's findings that are gone."""

    summary: dict[str, Any]
    fixed: list[dict[str, Any]]


class Checker:
    """``topolint check``, built once from the parsed options; :meth:`run` checks, reports
    and returns the exit code.

    The steps, in order: :meth:`targets` (where each format goes; usage errors first),
    :meth:`check_groups` (the engine, per configuration group), the fixes, the baseline
    (:meth:`write_baseline`, :meth:`apply_baseline`), :meth:`report` and
    :meth:`exit_code`.

    Examples
    --------
    >>> Checker(CheckOptions(["fixtures/clean"], quiet=True)).options.fmt is None
    True
    """

    def __init__(self, options: CheckOptions) -> None:
        self.options = options

    def run(self) -> int:
        """Check, report and return the exit code (0 clean, 1 findings, 2 input errors)."""
        o = self.options
        fmt, show = self.run_wide_keys()
        targets = self.targets(fmt)
        # A missing path is reported and the others are still checked (exit 2 at the end).
        missing = [InputError("no such file or directory", p) for p in o.paths if not _exists(p)]
        present = [p for p in o.paths if _exists(p)]
        result, levels = self.check_groups(present)
        if o.fix or o.diff:  # --fix writes the fixes and reports what is left; --diff shows them
            changed = _apply_fixes(result, o.cli, o.config, unsafe=o.unsafe_fixes, write=not o.diff)
            if o.diff:
                return 2 if result.errors or len(present) < len(o.paths) else changed
            result, levels = self.check_groups(present)
        result.errors[:0] = missing
        if not o.scanning:  # no false green: a folder without a topology is a wrong path
            result.errors += _empty_folders(present, result)
        extra: dict[str, Any] = {"skipped": result.skipped}
        findings = result.findings
        if o.write_baseline is not None:
            self.write_baseline(o.write_baseline, findings)
        outcome = None
        if o.baseline is not None:
            findings, outcome = self.apply_baseline(o.baseline, findings, result.files)
            extra["baseline"] = outcome.summary
        if result.errors:
            extra["errors"] = [e.to_dict() for e in result.errors]
        self.report(targets, result, findings, extra, show)
        if o.baseline is not None and outcome is not None and not o.quiet:
            _print_baseline_summary(o.baseline, outcome)
        return self.exit_code(result, findings, levels)

    def run_wide_keys(self) -> tuple[str, Any]:
        """The output format and the ``show`` level: the options, else the working folder's
        configuration (else the first path's), else ``github`` under GitHub Actions or
        ``text``, and ``warning``."""
        o = self.options
        fmt, show = o.fmt, o.show
        if show is not None and show not in SEVERITIES:
            raise UsageError(f"--show expects error, warning or info, got {show!r}")
        if fmt is None or show is None:  # run-wide keys: the working folder's configuration
            found = o.config if o.config is not None else find_config(Path.cwd())
            if found is None and o.paths and _exists(o.paths[0]):  # else the first path's
                found = find_config(Path(o.paths[0]))
            try:
                here = load_config(found) if found is not None else Config()
            except InputError:
                if o.config is not None:
                    raise
                here = Config()  # reported with the files below it, if any are checked
            fmt = fmt or here.get("format")
            show = show or here.get("show", "warning")
        if fmt is None:
            fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
        return fmt, show

    def targets(self, fmt: str) -> list[tuple[str, Path | None]]:
        """Each output as (format, file): ``fmt`` on standard output (file ``None``), then
        every ``--output-file``; a malformed one or an unknown format is a usage error."""
        from topolint.reporters import validate

        targets: list[tuple[str, Path | None]] = [(fmt, None)]
        for o in self.options.outputs:
            name, sep, filename = o.partition(":")
            if not sep or not filename:
                raise UsageError(f"--output-file expects FORMAT:FILE, got {o!r}")
            targets.append((name, Path(filename)))
        try:
            targets = [(validate(name), target) for name, target in targets]
        except ValueError as bad:
            raise UsageError(str(bad)) from None
        if self.options.statistics and targets[0][0] not in (*TEXT_STYLES, "json"):
            raise UsageError(f"--statistics prints text or json, not {targets[0][0]}")
        return targets

    def check_groups(self, paths: list[str]) -> tuple[CheckResult, dict[str, str]]:
        """Run the engine on ``paths``, grouping files by their nearest configuration;
        returns the result and, per checked file, the severity at which it fails."""
        o = self.options
        return _check(paths, o.cli, o.config, o.scanning)

    def write_baseline(self, path: Path, findings: list[Finding]) -> None:
        """``--write-baseline``: record ``findings`` at ``path`` (and say so, unless quiet)."""
        Baseline.write(path, findings)
        if not self.options.quiet:
            print(
                f"topolint: wrote {len(findings)} finding(s) to baseline {path}",
                file=sys.stderr,
            )

    def apply_baseline(
        self, path: Path, findings: list[Finding], files: list[str]
    ) -> tuple[list[Finding], _BaselineOutcome]:
        """``--baseline``: the findings not in the baseline at ``path``, and the counts and
        the baseline's entries that are gone from the checked ``files``."""
        known = Baseline.read(path).fingerprints
        prints = Baseline.fingerprints_of(findings, path)
        new = [f for f, fp in zip(findings, prints, strict=True) if fp not in known]
        # Only files checked now can tell that a finding is gone (pre-commit passes a few).
        checked = {Baseline.relative(name, path.parent) for name in files}
        current = set(prints)
        fixed = [e for fp, e in known.items() if fp not in current and e.get("file") in checked]
        summary = {
            "file": str(path),
            "known": len(findings) - len(new),
            "new": len(new),
            "fixed": fixed,
        }
        return new, _BaselineOutcome(summary, fixed)

    def report(
        self,
        targets: list[tuple[str, Path | None]],
        result: CheckResult,
        findings: list[Finding],
        extra: dict[str, Any],
        show: Any,
    ) -> None:
        """Print the input errors to standard error and render ``findings`` to each target
        (standard output, or an ``--output-file``)."""
        from topolint.lint.engine import catalogue
        from topolint.output import write_file
        from topolint.reporters import Report, render
        from topolint.textsafe import clean

        o = self.options
        report = Report(
            findings=findings,
            rules=list(catalogue()),
            files=result.files,
            sources=result.sources,
            root=Path.cwd(),
            tool_version=__version__,
            extra=extra,
            show=show,
            quiet=o.quiet,
        )
        for e in result.errors:
            print(clean(str(e)), file=sys.stderr)
        color = o.color
        use_color = sys.stdout.isatty() and "NO_COLOR" not in os.environ if color is None else color
        for name, target in targets:
            colored = use_color and target is None and name in TEXT_STYLES
            if o.statistics and target is None:
                text = _statistics(name, report, colored)
            else:
                text = render(name, report, color=colored)
            if target is None:
                sys.stdout.write(text)
            else:
                write_file(target, text)  # OutputError: one line, exit 2

    def exit_code(
        self, result: CheckResult, findings: list[Finding], levels: dict[str, str]
    ) -> int:
        """2 on input errors; 0 after ``--write-baseline`` alone or with ``--exit-zero``;
        else 1 when a finding reaches its file's fail level, or 0."""
        o = self.options
        if result.errors:
            return 2
        if (o.write_baseline is not None and o.baseline is None) or o.exit_zero:
            return 0  # the findings were just accepted, or the caller only wants the report
        default = o.fail_on or "warning"
        return 1 if any(fails([f], levels.get(f.file, default)) for f in findings) else 0


def _print_baseline_summary(path: Path, outcome: _BaselineOutcome) -> None:
    """The baseline's counts and each fixed entry, on standard error."""
    from topolint.textsafe import clean

    b = outcome.summary
    print(
        clean(
            f"topolint: baseline {path}: {b['known']} known, {b['new']} new, "
            f"{len(outcome.fixed)} fixed finding(s)"
        ),
        file=sys.stderr,
    )
    for entry in outcome.fixed:  # from the baseline file: made safe like any input
        print(
            clean(
                f"topolint: fixed: {entry.get('file')}: {entry.get('rule')} "
                f"{entry.get('element')}: {entry.get('message')}"
            ),
            file=sys.stderr,
        )


def _exists(path: str) -> bool:
    try:
        return Path(path).exists() or Path(path).is_symlink()  # a broken link: the loader says
    except OSError:  # e.g. a name too long
        return False


def _empty_folders(paths: list[str], result: CheckResult) -> list[InputError]:
    """An error for each folder in ``paths`` below which nothing was checked (no topology,
    and no file that failed to load as one)."""
    tried = [Path(f).resolve() for f in result.files]
    tried += [Path(e.file).resolve() for e in result.errors if e.file]
    out = []
    for p in paths:
        folder = Path(p)
        if not folder.is_dir():
            continue
        root = folder.resolve()
        if any(t == root or root in t.parents for t in tried):
            continue
        skipped = [s for s in result.skipped if root in Path(s).resolve().parents]
        looked = f"{len(skipped)} YAML/JSON/XML file{'s' if len(skipped) != 1 else ''}"
        why = f"{looked} looked at, none a topology" if skipped else "no YAML/JSON/XML files"
        out.append(
            InputError(
                f"no topology found ({why}); pass --skip-non-topologies if that is expected",
                p,
            )
        )
    return out


def _statistics(name: str, report: Any, color: bool) -> str:
    """``--statistics`` on standard output: a table (text styles) or a JSON list."""
    if name == "json":
        return json.dumps(report.statistics(), indent=2) + "\n"
    from topolint.reporters.text import render_statistics

    return render_statistics(report, color=color)


def settings_for_file(
    file: Path, cli: dict[str, Any] | None = None, config_path: Path | None = None
) -> Settings:
    """The settings ``topolint check`` uses for ``file``: its nearest configuration (or
    ``config_path``), the command-line values ``cli`` (``select``, ``ignore``, ``fail_on``,
    ``variables``) and the configuration's ``per-file-ignores`` that match it.  Raises
    :class:`InputError` for a broken configuration."""
    cli = cli or {"select": [], "ignore": [], "fail_on": None, "variables": {}}
    found = config_path if config_path is not None else find_config(file)
    config = load_config(_shown(found)) if found is not None else Config()
    settings = settings_for(config, **cli)
    extra = file_ignores(settings.per_file_ignores, str(file), settings.ignores_folder)
    return replace(settings, ignore=[*settings.ignore, *extra], per_file_ignores={})


def check_text(text: str, file: Path, settings: Settings, display: str | None = None) -> Any:
    """Check a topology given as text (an editor buffer, a file being fixed) as
    ``topolint check`` checks ``file``; returns the :class:`~topolint.lint.model.Topology` with
    its findings as ``(topology, findings)``.  Input errors raise :class:`InputError`."""
    from topolint.lint.engine import document_from_text, gc_paused, parse, run_rules

    with gc_paused():
        doc = document_from_text(text, file, display or str(file), settings.variables)
        topo = parse(
            doc, settings.variables, use_environ=settings.use_environ, allow_env=settings.allow_env
        )
    return topo, run_rules(topo, settings)


def fix_files(
    files: list[str], cli: dict[str, Any], config_path: Path | None, *, unsafe: bool, write: bool
) -> tuple[list[Any], int]:
    """Fix the named files (``write``: in place); returns the per-file results and the exit
    code of ``--diff`` (1 when something would change)."""
    from topolint.lint.fixes import fix_text
    from topolint.lint.loader import read_text
    from topolint.output import write_file

    results = []
    for name in files:
        path = Path(name)
        try:
            settings = settings_for_file(path, cli, config_path)
            text = read_text(path, name)
        except InputError:
            continue  # reported by the check itself

        def check(t: str, path: Path = path, settings: Settings = settings) -> tuple[Any, str]:
            topo, findings = check_text(t, path, settings, display=str(path))
            return findings, edit_format(t, topo)

        try:
            r = fix_text(text, name, check, unsafe=unsafe)
        except InputError:
            continue
        results.append(r)
        if write and r.changed:
            write_file(path, r.text)
    return results, int(any(r.changed for r in results))


def edit_format(text: str, topo: Any) -> str:
    """``yaml`` or ``json`` when fixes can edit ``text`` at the topology's positions;
    ``fairmq`` for a FairMQ form (mapped onto the native model: nothing to edit there)."""
    from topolint import fairmq

    return "fairmq" if fairmq.detect(text) is not None else str(topo.document.format)


def _apply_fixes(
    result: CheckResult, cli: dict[str, Any], config: Path | None, *, unsafe: bool, write: bool
) -> int:
    """``check --fix`` (``write``) or ``--diff``: fix the files that have fixable findings;
    the diff goes to standard output, the counts to standard error.  Returns 1 when a file
    changed (or would), else 0."""
    from topolint.lint.fixes import fixable, unified_diff
    from topolint.textsafe import clean, clean_lines

    files = sorted({f.file for f in fixable(result.findings, unsafe)})
    results, changed = fix_files(files, cli, config, unsafe=unsafe, write=write)
    fixed = sum(len(r.fixed) for r in results)
    touched = sum(1 for r in results if r.changed)
    if not write:
        for r in results:
            sys.stdout.write(clean_lines(unified_diff(r).splitlines()))
    for r in results:
        if r.error:
            print(clean(f"topolint: {r.file}: {r.error}"), file=sys.stderr)
    verb = "fixed" if write else "would fix"
    line = f"topolint: {verb} {fixed} finding(s) in {touched} file(s)"
    if not unsafe:
        left = sum(r.remaining_unsafe for r in results) + len(
            [f for f in result.findings if f.file not in files and f.edit is not None]
        )
        if left:
            line += f"; {left} more fixable with --unsafe-fixes"
    print(line, file=sys.stderr)
    return changed
