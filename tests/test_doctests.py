"""The examples in docstrings are right: every module that shows one is run by doctest."""

from __future__ import annotations

import doctest
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _modules_with_examples() -> list[str]:
    out = []
    for path in sorted((ROOT / "topolint").rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            rel = path.relative_to(ROOT).with_suffix("")
            out.append(".".join(p for p in rel.parts if p != "__init__"))
    return out


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
