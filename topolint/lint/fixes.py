"""Mechanical fixes: turn the :class:`~topolint.lint.findings.Edit` a rule yields with its fact
into text edits of the file, and apply them (``topolint check --fix`` / ``--diff``, and the
language server's code actions).

Edits are made in the text, at the positions of the YAML/JSON nodes (the same libyaml
parser the loader uses, composed again only here, on the fix path): only the changed
value or the added entry is written, so comments, key order, quoting, indentation and
blank lines stay exactly as they were.  An added key goes after the mapping's last entry,
in the mapping's style: a new line at the indentation of its keys in a block mapping,
``, key: value`` in a flow mapping, ``"key": value`` in JSON.

A fix is never written when it cannot be placed safely: the element is reached through an
anchor/alias (editing it would change every use), the document is a FairMQ form (its
positions point into another format), or the edited text no longer parses as a topology.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from topolint.lint.findings import Edit, Finding

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: Rounds of fix-and-recheck at most (a fix can reveal another finding with a fix).
MAX_ROUNDS = 10
_PLAIN = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_./:@+-]*\Z")


@dataclass(frozen=True)
class TextEdit:
    """Replace ``text[start:end]`` with ``new`` (character offsets); also 0-based line and
    column of both ends, for the language server."""

    start: int
    end: int
    new: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int


def render_value(value: Any, fmt: str) -> str:
    """``value`` as flow-style YAML (``fmt == "yaml"``) or JSON text."""
    if fmt == "json":
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and _resolves_to_str(value):
            return value
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v, fmt) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{render_key(k, fmt)}: {render_value(v, fmt)}" for k, v in value.items())
            + "}"
        )
    if value is None:
        return "null"
    raise TypeError(f"cannot write {type(value).__name__} as a fix")


def render_key(key: str, fmt: str) -> str:
    return json.dumps(key) if fmt == "json" else render_value(key, fmt)


def _resolves_to_str(text: str) -> bool:
    """Would YAML read the plain scalar ``text`` as this string (not a bool, number, null)?"""
    try:
        return yaml.load(text, Loader=_Loader) == text
    except yaml.YAMLError:
        return False


class _Unplaceable(Exception):
    """The edit cannot be placed safely in this text."""


class _Tree:
    """The composed node tree of a text, with line offsets and shared (aliased) nodes."""

    def __init__(self, text: str, fmt: str) -> None:
        self.text = text
        self.fmt = fmt
        source = text.replace("\t", " ") if fmt == "json" else text  # as the loader does
        loader = _Loader(source)
        try:
            self.root = loader.get_single_node()
        finally:
            loader.dispose()
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.shared: set[int] = set()
        if "&" in text:
            seen: set[int] = set()
            stack = [self.root]
            while stack:
                node = stack.pop()
                if id(node) in seen:
                    self.shared.add(id(node))
                    continue
                seen.add(id(node))
                if isinstance(node, yaml.MappingNode):
                    stack += [v for _, v in node.value]
                elif isinstance(node, yaml.SequenceNode):
                    stack += list(node.value)

    def offset(self, mark: Any) -> int:
        return self.line_starts[mark.line] + mark.column

    def find(self, path: Iterable[str | int]) -> yaml.Node:
        node = self.root
        if node is None:
            raise _Unplaceable("an empty document")
        for part in path:
            if id(node) in self.shared:
                raise _Unplaceable("reached through an alias")
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        node = v
                        break
                else:
                    raise _Unplaceable(f"no key {part!r}")
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    raise _Unplaceable(f"no item {part}")
                node = node.value[part]
            else:
                raise _Unplaceable("not a collection")
        if id(node) in self.shared:
            raise _Unplaceable("reached through an alias")
        return node

    def edit(self, start: int, end: int, new: str) -> TextEdit:
        sl, sc = self._line_col(start)
        el, ec = self._line_col(end)
        return TextEdit(start, end, new, sl, sc, el, ec)

    def _line_col(self, offset: int) -> tuple[int, int]:
        import bisect

        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line, offset - self.line_starts[line]


def _last_end(node: yaml.Node) -> Any:
    """The end mark of the last scalar or flow collection inside ``node`` (a block
    collection's own end mark lies after the comments and blank lines that follow it)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style:
        if not node.value:
            break
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark


def _replace(tree: _Tree, node: yaml.Node, value: Any) -> TextEdit:
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style:
        raise _Unplaceable("replacing a block collection")
    start, end = tree.offset(node.start_mark), tree.offset(node.end_mark)
    new = render_value(value, tree.fmt)
    if start == end and start > 0 and tree.text[start - 1] == ":":  # `key:` with no value
        new = " " + new
    return tree.edit(start, end, new)


def _add_key(tree: _Tree, mapping: yaml.MappingNode, key: str, value: Any) -> TextEdit:
    entry = f"{render_key(key, tree.fmt)}: {render_value(value, tree.fmt)}"
    text = tree.text
    if not mapping.value:
        if not mapping.flow_style:
            raise _Unplaceable("an empty block mapping")
        start, end = tree.offset(mapping.start_mark), tree.offset(mapping.end_mark)
        return tree.edit(start, end, "{" + entry + "}")
    first_key = mapping.value[0][0]
    last_key, last_value = mapping.value[-1]
    if mapping.flow_style:
        after = tree.offset(last_value.end_mark)
        if last_key.start_mark.line != mapping.start_mark.line:  # one entry per line
            indent = " " * last_key.start_mark.column
            return tree.edit(after, after, ",\n" + indent + entry)
        return tree.edit(after, after, ", " + entry)
    indent = " " * first_key.start_mark.column
    end = _last_end(last_value)
    at = tree.offset(end)
    if end.column == 0:  # e.g. a literal block scalar ends at the start of the next line
        return tree.edit(at, at, indent + entry + "\n")
    eol = text.find("\n", at)
    if eol < 0:
        return tree.edit(len(text), len(text), "\n" + indent + entry)
    if eol > 0 and text[eol - 1] == "\r":
        return tree.edit(eol - 1, eol - 1, "\r\n" + indent + entry)
    return tree.edit(eol, eol, "\n" + indent + entry)


def text_edit(text: str, fmt: str, edit: Edit) -> TextEdit | None:
    """Where and what to write for ``edit`` in ``text`` (None: it cannot be placed safely)."""
    try:
        tree = _Tree(text, fmt)
        return _place(tree, edit)
    except (_Unplaceable, yaml.YAMLError, TypeError):
        return None


def _place(tree: _Tree, edit: Edit) -> TextEdit:
    node = tree.find(edit.path)
    if edit.key is None:
        return _replace(tree, node, edit.value)
    if not isinstance(node, yaml.MappingNode):
        raise _Unplaceable("not a mapping")
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == edit.key:
            if id(v) in tree.shared:
                raise _Unplaceable("an alias")
            return _replace(tree, v, edit.value)
    return _add_key(tree, node, edit.key, edit.value)


def apply(text: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (an edit overlapping an earlier one is left out)."""
    chosen: list[TextEdit] = []
    for e in edits:
        if any(e.start < c.end and c.start < e.end for c in chosen):
            continue
        if any(e.start == c.start == c.end == e.end for c in chosen):
            continue  # two insertions at one place: the next round does the second
        chosen.append(e)
    for e in sorted(chosen, key=lambda e: e.start, reverse=True):
        text = text[: e.start] + e.new + text[e.end :]
    return text


def fixable(findings: Iterable[Finding], unsafe: bool) -> list[Finding]:
    """The findings with an edit that may be applied (safe ones, or all with ``unsafe``)."""
    safety = rule_safety()
    return [f for f in findings if f.edit is not None and (unsafe or safety.get(f.rule) == "safe")]


def rule_safety() -> Mapping[str, str]:
    """Rule name -> ``safe`` / ``unsafe`` for the rules that can fix."""
    from topolint.lint.engine import catalogue

    return {r.name: r.fix_safety for r in catalogue() if r.fix_safety}


@dataclass
class FixResult:
    """What fixing one file did."""

    file: str
    original: str
    text: str
    fixed: list[Finding]
    remaining_unsafe: int = 0
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.text != self.original


def fix_text(
    text: str,
    file: str,
    check: Any,
    *,
    unsafe: bool = False,
) -> FixResult:
    """Fix ``text`` round after round: ``check(text) -> (findings, fmt)`` re-checks the
    edited text (it raises :class:`~topolint.errors.InputError` when it no longer parses),
    until no applicable edit is left.  A round whose result does not parse is undone."""
    from topolint.errors import InputError

    result = FixResult(file, text, text, [])
    findings, fmt = check(text)
    for _ in range(MAX_ROUNDS):
        todo = fixable(findings, unsafe)
        if fmt not in ("yaml", "json") or not todo:
            break
        placed: list[tuple[TextEdit, Finding]] = []
        for f in todo:
            assert f.edit is not None
            te = text_edit(result.text, fmt, f.edit)
            if te is not None:
                placed.append((te, f))
        new = apply(result.text, [te for te, _ in placed])
        if new == result.text:
            break
        try:
            after, fmt = check(new)
        except InputError as e:
            result.error = f"a fix would make the file invalid ({e}); left unfixed"
            break
        still = {(f.rule, f.path, f.message) for f in after}
        result.fixed += [f for _, f in placed if (f.rule, f.path, f.message) not in still]
        result.text, findings = new, after
    if not unsafe:
        result.remaining_unsafe = len([f for f in findings if f.edit is not None]) - len(
            fixable(findings, False)
        )
    return result


def unified_diff(result: FixResult) -> str:
    import difflib

    return "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.text.splitlines(keepends=True),
            fromfile=f"a/{result.file}",
            tofile=f"b/{result.file}",
        )
    )
