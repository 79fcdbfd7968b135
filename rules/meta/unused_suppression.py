"""A suppression that no longer suppresses anything, or names a rule that does not exist.

## What it finds
A `# topolint: ignore[rule] reason` comment on a line where that rule reports nothing, a
`# topolint: ignore-file[rule]` for a rule that reports nothing in the file, or an
`x-topolint-ignore` key whose element and children have no finding of the rules it lists.
Also suppressions that name an unknown rule (a typo silences nothing) and line comments on
a line without an element (a comment above the element does not count: it belongs at the
end of the element's first line).

A suppression is judged only against rules that ran: one for a rule that was not selected,
or is ignored for this file, is left alone. Run with every rule enabled (the default) to
audit them all.

## Why it matters
Suppressions outlive the problems they hid. A stale one keeps silencing the next real
problem of that rule on that element; a misspelled one silences nothing while the reader
believes the finding was reviewed. Ruff's `unused-noqa` (RUF100) exists for the same
reason.

## Example
```yaml
processes:
  camera:
    sockets:
      # the dead-output below was fixed long ago: the suppression is stale
      out: {type: push, bind: "tcp://*:7000"}  # topolint: ignore[dead-output] legacy
  sink:
    sockets:
      in: {type: pull, connect: camera.out}    # topolint: ignore[dead-ouptut] typo
```

## Fix
Delete the comment (or the rule from its list, or the `x-topolint-ignore` key); fix the
rule name if it is misspelled (`topolint rules` lists them). To keep a suppression for a
rule that does not run on this file, leave it: it is not reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "unused-suppression"
CODE = "TL001"
SEVERITY = "warning"


def _known_names() -> list[str]:
    from topolint.lint.engine import catalogue

    return [r.name for r in catalogue()]


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, _known_names(), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "; `topolint rules` lists them"
    return f"unknown rule {name!r}{hint}"


def check(ctx: Context) -> Iterator[Fact]:
    from topolint.lint.engine import StaleSuppression

    stale: list[StaleSuppression] = list(getattr(ctx, "stale_suppressions", ()))
    for item in stale:
        site = item.site
        kind = {
            "line": "suppression comment",
            "file": "file-level suppression",
            "element": "x-topolint-ignore",
        }[site.scope]
        where = {
            "line": "on this line",
            "file": "in this file",
            "element": "on this element",
        }[site.scope]
        at = {"line": site.line, "column": site.column}
        if item.misplaced:
            yield Fact(
                f"{kind} on a line without an element suppresses nothing: a suppression "
                "belongs at the end of the element's first line",
                path=site.path,
                subject=("misplaced", *site.names),
                fix="move the comment to the end of the line the finding points at",
                data=at,
            )
            continue
        for name in item.unknown:
            yield Fact(
                f"{kind} names an {_unknown(name)}",
                path=site.path,
                subject=("unknown", name),
                fix="correct the rule name, or remove it",
                data=at,
            )
        if item.unused:
            names = [n for n in item.unused if n]
            if names:
                what = ", ".join(names)
                rest = [n for n in site.names if n not in names]
                message = f"unused {kind}: no {what} finding {where}"
                fix = (
                    f"remove {what} from the list" if rest else "remove the suppression"
                ) + " (the problem it hid is gone)"
            else:
                message = f"unused {kind}: no finding {where}"
                fix = "remove the suppression (the problem it hid is gone)"
            yield Fact(
                message,
                path=site.path,
                subject=("unused", *(names or ["all"])),
                fix=fix,
                data=at,
            )
