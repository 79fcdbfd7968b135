from __future__ import annotations

import pytest

from topolint.errors import InputError
from topolint.lint.loader import load_text

YAML = """\
topolint: 1
name: t
processes:
  camera:
    sockets:
      out: {type: push, bind: "tcp://*:1"}
"""


def test_positions_of_keys_and_values():
    doc = load_text(YAML, "t.yaml")
    assert (
        doc.position(("processes", "camera", "sockets", "out"))
        == doc.key_pos[("processes", "camera", "sockets", "out")]
    )
    pos = doc.position(("processes", "camera", "sockets", "out"))
    assert (pos.line, pos.column) == (6, 7)
    v = doc.value_position(("processes", "camera", "sockets", "out", "bind"))
    assert (v.line, v.column) == (6, 31)


def test_missing_path_falls_back_to_nearest_ancestor():
    doc = load_text(YAML, "t.yaml")
    pos = doc.position(("processes", "camera", "nope", "deeper"))
    assert pos.line == 4


def test_json_positions():
    doc = load_text('{\n\t"topolint": 1,\n\t"name": "x"\n}\n', "t.json")
    assert doc.data == {"topolint": 1, "name": "x"}
    assert doc.position(("name",)).line == 3


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a'", 2),
        ("a: !!python/object/apply:os.system ['true']\n", "unsupported tag", 1),
        ("a: [1, 2\n", "invalid YAML", 2),
        ("", "empty file", 1),
        ("a: &x [1]\nb: {<<: *x}\n", "merge keys", 2),
    ],
)
def test_input_errors_have_locations(text, message, line):
    with pytest.raises(InputError, match=message) as e:
        load_text(text, "bad.yaml")
    assert e.value.line == line
    assert str(e.value).startswith(f"bad.yaml:{line}:")


def test_invalid_json_has_location():
    with pytest.raises(InputError, match="invalid JSON") as e:
        load_text('{"a": 1,,}', "bad.json")
    assert (e.value.line, e.value.column) == (1, 9)


def test_alias_bomb_is_refused():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(InputError, match="alias"):
        load_text("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_refused():
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(InputError, match="nesting"):
        load_text(text, "deep.yaml")


def test_suppression_comments_are_parsed():
    doc = load_text(
        "a: 1  # topolint: ignore[dead-output] reason here\n# topolint: ignore-file[TL5]\n",
        "s.yaml",
    )
    assert [(s.line, s.rules, s.reason, s.file_level) for s in doc.suppressions] == [
        (1, ("dead-output",), "reason here", False),
        (2, ("TL5",), "", True),
    ]
