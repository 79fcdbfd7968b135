"""Findings: what the engine reports, and the facts rules yield.

A rule yields :class:`Fact` objects (what is wrong, and where in the document); the
engine turns each fact into a :class:`Finding` by stamping the rule's name, code and
severity, resolving the element path to a file position, applying suppressions and
sorting.  Reporters only ever see :class:`Finding`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Element path inside a topology document, e.g. ``("processes", "camera", "sockets", "out")``.
Path = tuple[str | int, ...]


class Severity(StrEnum):
    """Severity of a finding, ordered ``info < warning < error``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class Edit:
    """A mechanical change to the document that fixes a fact (applied by :mod:`topolint.lint.fixes`).

    With ``key``: in the mapping at ``path``, give ``key`` the value ``value`` — the existing
    value is replaced, or the key is added after the mapping's last entry in the mapping's
    own style (block or flow, YAML or JSON).  Without ``key``: the value at ``path`` is
    replaced.  ``value`` is plain data (str, int, list, dict), written in the file's format.
    Everything else in the file (comments, key order, quoting, indentation) stays as it is.
    """

    path: Path
    value: Any
    key: str | None = None

    @property
    def title(self) -> str:
        """What the edit does, e.g. ``set subscribe: [""]``."""
        from topolint.lint.fixes import render_value

        name = self.key if self.key is not None else (self.path[-1] if self.path else "")
        return f"set {name}: {render_value(self.value, 'yaml')}"


@dataclass
class Fact:
    """What a rule reports: a message about one element of the document.

    ``path`` names the element at fault (the engine turns it into file, line and
    column).  ``subject`` names graph nodes or edges (process instances,
    ``process.socket`` ids) for de-duplication, diagram highlighting and run
    verdicts.  ``related`` lists other element paths worth showing.  ``follows`` names the
    root findings this fact follows from (subject keys, e.g. ``?camra.out`` of an
    unresolved endpoint): when the module's ``FOLLOWS`` rules report them, the engine folds
    this fact into them as a related note instead of reporting it twice.  ``edit`` is the
    mechanical change that fixes it, when there is one (the rule's ``FIX_SAFETY`` says
    whether ``check --fix`` applies it by default or only with ``--unsafe-fixes``).
    """

    message: str
    path: Path = ()
    subject: tuple[str, ...] = ()
    related: tuple[Path, ...] = ()
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    follows: tuple[str, ...] = ()
    edit: Edit | None = None


@dataclass
class Finding:
    """One reported problem, fully located."""

    rule: str
    code: str
    severity: Severity
    message: str
    file: str
    line: int
    column: int
    path: Path = ()
    end_line: int | None = None
    end_column: int | None = None
    subject: tuple[str, ...] = ()
    related: tuple[dict[str, Any], ...] = ()
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: subject keys of the findings this one follows from (see engine.fold_followers)
    follows: tuple[str, ...] = ()
    edit: Edit | None = None

    @property
    def element(self) -> str:
        """The element path as dotted text, e.g. ``processes.camera.sockets.out``."""
        return ".".join(str(p) for p in self.path)

    @property
    def fingerprint(self) -> str:
        """A stable id: rule + file + element path + subject; not the line number."""
        return self.fingerprint_in(self.file)

    def fingerprint_in(self, file: str) -> str:
        """The fingerprint with ``file`` standing for the finding's file (e.g. relative to a
        baseline's folder)."""
        raw = "\x1f".join([self.rule, file, self.element, ",".join(self.subject)])
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def sort_key(self) -> tuple[Any, ...]:
        return (self.file, self.line, self.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (SPEC §4 keys first)."""
        return {
            "rule": self.rule,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "element": self.element,
            "subject": list(self.subject),
            "related": list(self.related),
            "fix": self.fix,
            "fingerprint": self.fingerprint,
        }


def unique_fingerprints(
    findings: Iterable[Finding], fingerprint: Callable[[Finding], str] | None = None
) -> list[str]:
    """One fingerprint per finding, unique within the list.

    The first finding with a given fingerprint (by default :attr:`Finding.fingerprint`)
    keeps it unchanged (stable across line moves).  A later finding with the same one (same
    rule, file, element and subject) is told apart by its message, then by its rank.
    """
    get = fingerprint or (lambda f: f.fingerprint)
    seen: set[str] = set()
    out: list[str] = []
    for f in findings:
        fp = get(f)
        if fp in seen:
            fp = hashlib.sha256(f"{fp}\x1f{f.message}".encode()).hexdigest()[:32]
            n = 1
            base = fp
            while fp in seen:
                n += 1
                fp = f"{base}-{n}"
        seen.add(fp)
        out.append(fp)
    return out
