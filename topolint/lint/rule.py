"""The shape of one rule: a module under ``rules/`` (installed as ``topolint.rules``).

Each rule module defines, side by side::

    \"\"\"One-line summary.

    ## What it finds
    ...
    ## Why it matters
    ...
    ## Example
    ...
    ## Fix
    ...
    \"\"\"
    NAME = "socket-type-mismatch"     # stable kebab-case name (SPEC §2)
    CODE = "TL101"                    # stable code
    SEVERITY = "error"                # default severity: error | warning | info
    OPTIONS = {}                      # option name -> default value (optional)
    FIX_SAFETY = "safe"               # rules whose facts carry an ``edit``: safe | unsafe

    def check(ctx: Context) -> Iterator[Fact]:
        ...

The engine discovers modules, validates them (see :func:`RuleInfo.from_module`) and stamps
each yielded :class:`~topolint.lint.findings.Fact` into a :class:`~topolint.lint.findings.Finding`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from topolint.lint.findings import Fact, Severity

if TYPE_CHECKING:
    from topolint.lint.context import Context

SECTIONS = ("What it finds", "Why it matters", "Example", "Fix")
#: The project's home; ``[project.urls]`` in pyproject.toml says the same (a test checks).
REPOSITORY_URL = "https://github.com/topolint/topolint"
#: The documentation as it ships in the repository (``docs/``).
DOCS_URL = f"{REPOSITORY_URL}/blob/main/docs"
#: Each rule's page, generated from its docstring by ``python -m topolint.docs``.
HELP_URI = DOCS_URL + "/rules/{name}.md"
_SECTION_RE = re.compile(r"^## (.+?)\s*$", re.MULTILINE)

CheckFn = Callable[["Context"], Iterator[Fact]]


@dataclass(frozen=True)
class RuleInfo:
    """Everything the engine and the reporters know about one rule."""

    name: str
    code: str
    severity: Severity
    summary: str
    sections: dict[str, str]
    check: CheckFn
    options: dict[str, Any] = field(default_factory=dict)
    family: str = ""
    #: ``safe`` (``check --fix`` applies it), ``unsafe`` (only with ``--unsafe-fixes``: it
    #: changes behaviour), or ``""`` (the rule yields no edits).
    fix_safety: str = ""

    @property
    def help_uri(self) -> str:
        return HELP_URI.format(name=self.name)

    @property
    def fix_note(self) -> str:
        """How ``check --fix`` treats this rule's fix ("" when it has none)."""
        if self.fix_safety == "safe":
            return "Automatic fix: safe (`topolint check --fix` applies it)."
        if self.fix_safety == "unsafe":
            return (
                "Automatic fix: unsafe, it changes behaviour (`topolint check --fix "
                "--unsafe-fixes` applies it; review the diff)."
            )
        return ""

    @property
    def docs(self) -> str:
        """The full documentation as Markdown."""
        parts = [f"# {self.name} ({self.code})", "", self.summary, ""]
        for title in SECTIONS:
            parts += [f"## {title}", "", self.sections[title], ""]
            if title == "Fix" and self.fix_safety:
                parts += [self.fix_note, ""]
        return "\n".join(parts).rstrip() + "\n"

    @classmethod
    def from_module(cls, module: ModuleType) -> RuleInfo:
        doc = (module.__doc__ or "").strip()
        summary, _, body = doc.partition("\n")
        sections: dict[str, str] = {}
        matches = list(_SECTION_RE.finditer(body))
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
            sections[m.group(1)] = body[m.end() : end].strip()
        missing = [s for s in SECTIONS if not sections.get(s)]
        if missing:
            raise ValueError(f"rule module {module.__name__} lacks doc sections {missing}")
        family = module.__name__.rsplit(".", 2)[-2] if module.__name__.count(".") >= 3 else ""
        fix_safety = getattr(module, "FIX_SAFETY", "")
        if fix_safety not in ("", "safe", "unsafe"):
            raise ValueError(f"rule module {module.__name__}: FIX_SAFETY must be safe or unsafe")
        return cls(
            name=module.NAME,
            code=module.CODE,
            severity=Severity(module.SEVERITY),
            summary=summary.strip(),
            sections=sections,
            check=module.check,
            options=dict(getattr(module, "OPTIONS", {})),
            family=family,
            fix_safety=fix_safety,
        )
