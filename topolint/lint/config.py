"""Configuration: ``[tool.topolint]`` in ``pyproject.toml`` or ``.topolint.yaml``.

The nearest configuration file to a checked file wins (searching upwards from its folder);
``--config FILE`` overrides discovery.  Keys (all optional)::

    select: [ALL]                 # rule names, codes or code prefixes
    ignore: []
    per-file-ignores: {"tests/*.yaml": [hardcoded-endpoint]}
    severity: {dead-output: info}  # per-rule severity overrides
    fail-on: warning
    show: warning                 # least severity text output lists (infos are counted)
    format: text                  # output format when --format is not given
    rules: {hardcoded-endpoint: {allow-hosts: ["build-*"]}}   # rule options
    variables: {CAMERA_HOST: localhost}   # values for ${VAR} (--var wins)
    allow-env: [CAMERA_HOST, "DEPLOY_*"]  # the only names ${VAR} may read from the environment

``allow-env`` is a security property: topolint is a CI gate on files that whoever opens a
pull request writes, so ``${VAR}`` never reads a variable the configuration does not list
(``${AWS_SECRET_ACCESS_KEY:-x}`` in an endpoint must not copy a CI secret into a report).

Unknown keys are errors with a "did you mean"; the file has a JSON Schema
(``topolint schema --config``).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from topolint.errors import InputError, UsageError
from topolint.reporters import SEVERITIES, names

if TYPE_CHECKING:
    from topolint.lint.engine import Settings

CONFIG_NAMES = (".topolint.yaml", ".topolint.yml", "pyproject.toml")
#: Largest configuration file read (a ``pyproject.toml`` is a few kB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = " (at end of document)"
_SEVERITIES = list(SEVERITIES)
_selectors = {"type": "array", "items": {"type": "string", "minLength": 1}}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "topolint configuration",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "select": {**_selectors, "minItems": 1},
        "ignore": _selectors,
        "extend-select": _selectors,
        "per-file-ignores": {"type": "object", "additionalProperties": _selectors},
        "severity": {"type": "object", "additionalProperties": {"enum": _SEVERITIES}},
        "fail-on": {"enum": _SEVERITIES},
        "show": {
            "enum": _SEVERITIES,
            "description": "the least severity that text output lists (default warning); "
            "the others are counted in the summary; machine formats keep every finding",
        },
        "rules": {"type": "object", "additionalProperties": {"type": "object"}},
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        "allow-env": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "environment variables ${VAR} may read (names or globs such as "
            "'DEPLOY_*'); every other variable comes from --var or 'variables' only",
        },
        "format": {"enum": names()},
    },
}


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration."""
    return CONFIG_SCHEMA


@dataclass
class Config:
    """A loaded configuration (empty when there is none)."""

    source: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    doc: Any = None  # the YAML document (positions), for .topolint.yaml
    text: str | None = None  # the TOML text, for pyproject.toml

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @property
    def folder(self) -> Path | None:
        """The folder the file lives in: ``per-file-ignores`` patterns are relative to it."""
        return Path(self.source).resolve().parent if self.source else None

    def error(self, message: str, *path: str) -> InputError:
        """An input error about the value at ``path`` in this file, located if possible."""
        line = col = None
        if self.doc is not None:
            pos = self.doc.position(path)
            line, col = pos.line, pos.column
        elif self.text is not None:
            line = _toml_line(self.text, path)
        where = ".".join(path)
        return InputError(
            f"configuration{' ' + where if where else ''}: {message}", self.source or "", line, col
        )


def _toml_line(text: str, path: tuple[Any, ...]) -> int | None:
    """The line of ``path``'s key inside ``[tool.topolint]`` (TOML keeps no positions):
    ``key =`` in the table ``tool.topolint`` or a sub-table ``tool.topolint.<parent>``."""
    if not path:
        return None
    header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$")
    key = str(path[-1])
    assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    inline = re.compile(rf"[{{,]\s*[\"']?{re.escape(key)}[\"']?\s*=")
    parents = [str(p) for p in path[:-1]]
    tables = {".".join(["tool", "topolint", *parents[:i]]) for i in range(len(parents) + 1)}
    current = ""
    for n, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            current = re.sub(r"\s*\.\s*", ".", m.group(1)).replace('"', "")
            continue
        if current in tables and (assign.match(line) or inline.search(line)):
            return n
    return None


def _validate(values: Any, source: str, doc: Any = None, text: str | None = None) -> dict[str, Any]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(CONFIG_SCHEMA).iter_errors(values))
    if error is None:
        return dict(values)
    path = tuple(error.absolute_path)
    where_path = path
    line = col = None
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            key = extra[0]
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            message = f"unknown configuration key {key!r}" + (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; expected one of: {', '.join(allowed)}"
            )
            where_path = path
            path = (*path, key)
    if doc is not None:
        pos = doc.position(path)
        line, col = pos.line, pos.column
    elif text is not None:
        line = _toml_line(text, path)
    where = ".".join(map(str, where_path))
    raise InputError(f"configuration{' ' + where if where else ''}: {message}", source, line, col)


def load_config(path: Path) -> Config:
    """Load one configuration file (``pyproject.toml`` reads ``[tool.topolint]``)."""
    from topolint.lint.loader import load_text, read_text

    source = str(path)
    text = read_text(path, source, limit=MAX_CONFIG_BYTES, what="configuration")
    if path.name.endswith(".toml"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = _TOML_AT.search(str(e))
            if m:
                message = str(e)[: m.start()]
                raise InputError(
                    f"invalid TOML: {message}", source, int(m.group(1)), int(m.group(2))
                ) from None
            if str(e).endswith(_TOML_END):
                line = text.count("\n") + 1
                col = len(text) - (text.rfind("\n") + 1) + 1
                message = str(e).removesuffix(_TOML_END)
                raise InputError(f"invalid TOML: {message}", source, line, col) from None
            raise InputError(f"invalid TOML: {e}", source) from None
        except RecursionError:
            raise InputError("invalid TOML: nesting too deep", source) from None
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise InputError("invalid configuration: 'tool' is not a table", source)
        values = tool.get("topolint")
        if values is None:
            return Config(source, {})
        return Config(source, _validate(values, source, text=text), text=text)
    if not text.strip():  # an empty .topolint.yaml is an empty configuration
        return Config(source, {})
    doc = load_text(text, source, "yaml")
    return Config(source, _validate(doc.data or {}, source, doc), doc=doc)


def allow_env_for(path: Path) -> list[str]:
    """``allow-env`` of the nearest configuration of ``path`` (none: nothing is allowed)."""
    found = find_config(path)
    return list(load_config(found).get("allow-env", [])) if found is not None else []


def find_config(start: Path) -> Path | None:
    """The nearest configuration file at or above ``start`` (a ``pyproject.toml`` counts
    only when it has a ``[tool.topolint]`` table)."""
    from topolint.lint.loader import ReadRefused, read_bounded

    folder = start if start.is_dir() else start.parent
    folder = folder.resolve()
    for d in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            candidate = d / name
            if candidate.is_file():  # by stat: pipes and devices are not configuration
                if name == "pyproject.toml":
                    try:
                        raw = read_bounded(candidate, MAX_CONFIG_BYTES)
                    except ReadRefused as e:
                        if e.reason == "unreadable":
                            continue
                        return candidate  # too large to tell: load_config says so
                    # bytes: a file that is not UTF-8 but configures topolint is an error
                    if b"[tool.topolint" not in raw:
                        continue
                return candidate
    return None


# -- from configuration to settings ------------------------------------------------------


def settings_for(
    config: Config,
    *,
    select: list[str],
    ignore: list[str],
    fail_on: str | None,
    variables: dict[str, str],
) -> Settings:
    """Command-line values win over the configuration's.

    Command-line mistakes are :class:`UsageError`; configuration mistakes are
    :class:`InputError` naming the configuration file (and the line, where known).
    """
    from topolint.lint.engine import Settings, catalogue, matches, rule_by_name, validate_selectors

    s = Settings()
    if fail_on is not None and fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on expects error, warning or info, got {fail_on!r}")
    validate_selectors([*select, *ignore])

    def check_config(selectors: list[str], *path: str) -> None:
        try:
            validate_selectors(selectors)
        except UsageError as e:
            raise config.error(str(e), *path) from None

    for key in ("select", "extend-select", "ignore"):
        check_config(list(config.get(key, [])), key)
    for pattern, sels in config.get("per-file-ignores", {}).items():
        check_config(list(sels), "per-file-ignores", pattern)
    for key in config.get("severity", {}):
        check_config([key], "severity", key)

    s.select = select or list(config.get("select", ["ALL"])) + list(config.get("extend-select", []))
    s.ignore = list(config.get("ignore", [])) + ignore
    s.severity = _expand_severity(dict(config.get("severity", {})), catalogue(), matches)
    s.per_file_ignores = dict(config.get("per-file-ignores", {}))
    s.ignores_folder = config.folder
    s.fail_on = fail_on or config.get("fail-on", "warning")
    s.variables = {**config.get("variables", {}), **variables}
    s.allow_env = list(config.get("allow-env", []))  # the environment ${VAR} may read
    s.options = {}
    for name, opts in config.get("rules", {}).items():
        try:
            rule = rule_by_name(name)
        except UsageError as e:
            raise config.error(str(e), "rules", name) from None
        for key, value in opts.items():
            if key not in rule.options:
                raise config.error(
                    f"unknown option {key!r} for rule {rule.name}; "
                    f"it has: {', '.join(rule.options) or 'none'}",
                    "rules",
                    name,
                    key,
                )
            problem = _option_problem(rule.options[key], value)
            if problem:
                raise config.error(f"option {key!r} of {rule.name} {problem}", "rules", name, key)
        s.options[rule.name] = dict(opts)
    return s


def _expand_severity(
    overrides: dict[str, str], rules: tuple[Any, ...], matches: Any
) -> dict[str, str]:
    """Severity overrides by rule name: a name or code wins over a prefix, a longer prefix
    over a shorter one (``{"TL1": "info", "TL104": "error"}``)."""
    out: dict[str, str] = {}
    rank: dict[str, int] = {}
    for key, level in overrides.items():
        for r in rules:
            if not matches(r, key):
                continue
            exact = key.lower() in (r.name, r.code.lower())
            score = 1000 if exact else len(key)
            if score >= rank.get(r.name, -1):
                out[r.name] = level
                rank[r.name] = score
    return out


def _option_problem(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot replace an option whose default is ``default`` (None if it can)."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expects true or false"
    if isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "expects a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "expects a string"
    if isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "expects a list of strings"
    return None


def file_ignores(
    patterns: Mapping[str, Sequence[str]], file: str, folder: Path | None
) -> list[str]:
    """The ``per-file-ignores`` selectors that apply to ``file`` (the one matcher: the
    engine's :meth:`~topolint.lint.engine.Settings.enabled` uses it).

    A pattern matches the file's path relative to the configuration's ``folder`` (like
    ruff), its path as given, or its name.
    """
    if not patterns:
        return []
    import contextlib
    import fnmatch
    import os

    candidates = {file.replace(os.sep, "/"), os.path.basename(file)}
    if folder is not None:
        with contextlib.suppress(ValueError, OSError):  # not below the folder
            candidates.add(Path(file).resolve().relative_to(folder).as_posix())
    out: list[str] = []
    for pattern, sels in patterns.items():
        pat = pattern.replace("\\", "/").removeprefix("./")
        if any(fnmatch.fnmatch(c, pat) for c in candidates):
            out += [x for x in sels if x not in out]
    return out
