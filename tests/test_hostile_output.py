"""Hostile input must not take over the output (issue 12), through the real command line.

- Names, owners, message types, endpoints, file names and source lines that hold ESC, BEL,
  C1 controls, newlines or GitHub Actions workflow commands are shown escaped by every
  text output (``check`` in all formats, ``analyze``, ``diff``, ``run``, error lines):
  no raw control character, no line that the Actions runner would execute.
- A 50 MB single-line file gives a few kB of output: excerpts show a bounded window, long
  names and messages are shortened.
- An output that cannot be written (missing folder, full disk, a folder, standard output
  on a full disk) is one line ``topolint: cannot write ...`` and exit 2 for every
  command; a closed pipe never prints a traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT, SMALL_TOPOLOGY, run_cli

HOSTILE = ROOT / "tests" / "hostile"
INJECTION = HOSTILE / "output-injection.yaml"
INJECTION_RUN = HOSTILE / "output-injection-run.yaml"

#: Characters no text output may write raw (controls other than newline, bidi overrides,
#: line separators): a terminal or a log viewer would act on them.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: A line the GitHub Actions runner executes: ``::command`` at its start after spaces, or
#: the legacy ``##[command]`` anywhere.
COMMAND_LINE = re.compile(r"^\s*::[A-Za-z-]+[ :]")


def assert_safe(text: str, *, annotations: bool = False) -> None:
    """No raw control character and no workflow command, except the annotations that the
    ``github`` format writes itself (``annotations``), which must name the real file."""
    bad = RAW.search(text)
    assert bad is None, f"raw {bad.group()!r} in output: {text[max(bad.start() - 80, 0) :][:160]!r}"
    assert "##[" not in text
    for line in text.splitlines():
        if not COMMAND_LINE.match(line):
            continue
        assert annotations, f"workflow command in output: {line[:200]!r}"
        assert re.match(r"::(error|warning|notice) file=tests/hostile/[\w.-]+\.yaml,line=\d", line)


def _all(r: subprocess.CompletedProcess[str]) -> str:
    return r.stdout + r.stderr


# --- 1. injection ----------------------------------------------------------------------------


def test_check_text_shows_hostile_names_escaped() -> None:
    # --show info: one of the hostile names appears only in an info finding
    r = run_cli("check", str(INJECTION.relative_to(ROOT)), "--no-color", "--show", "info")
    assert r.returncode == 1, r.stderr
    assert_safe(_all(r))
    assert "cam\\x1b]52;c;cm0gLXJmIH4=\\x07\\n::error file=x,line=1::forged-process" in r.stdout
    assert "\\u202e\\x85" in r.stdout  # bidi override and NEL visible
    assert "#\\x23[error]forged-legacy" in r.stdout  # the legacy command defused


def test_check_text_in_colour_is_safe_too() -> None:
    r = run_cli("check", str(INJECTION.relative_to(ROOT)), "--color")
    assert r.returncode == 1
    # the only ESC bytes are our own colour codes: ESC [ digits m
    text = re.sub(r"\x1b\[[0-9;]*m", "", _all(r))
    assert_safe(text)


def test_check_github_annotations_are_escaped() -> None:
    r = run_cli("check", str(INJECTION.relative_to(ROOT)), "--format", "github")
    assert r.returncode == 1
    assert_safe(_all(r), annotations=True)
    lines = r.stdout.splitlines()
    assert lines and all(line.startswith("::") for line in lines)
    # one annotation per finding: no line was split by a newline from the file
    count = len(json.loads(run_cli("check", str(INJECTION), "--format", "json").stdout)["findings"])
    assert len(lines) == count
    assert any("\\n::error file=x,line=1::forged-process" in line for line in lines)


def test_check_github_is_picked_under_actions_and_safe() -> None:
    r = run_cli("check", str(INJECTION.relative_to(ROOT)), env={"GITHUB_ACTIONS": "true"})
    assert r.returncode == 1
    assert r.stdout.startswith("::")
    assert_safe(_all(r), annotations=True)


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_check_json_formats_are_safe_to_print_and_keep_the_data(fmt: str) -> None:
    r = run_cli("check", str(INJECTION), "--format", fmt)
    assert r.returncode == 1
    assert_safe(r.stdout)  # C1, bidi and ##[ written as \\u escapes by the serializer
    assert "##[error]forged-legacy" in json.dumps(json.loads(r.stdout), ensure_ascii=False)


def test_check_junit_is_safe_to_print_and_valid_xml() -> None:
    r = run_cli("check", str(INJECTION), "--format", "junit")
    assert r.returncode == 1
    assert_safe(r.stdout)
    root = ET.fromstring(r.stdout.encode())
    failures = root.findall(".//failure")
    assert failures
    # shown as in the text output (the second '#' of '##[' as \\x23)
    assert any("#\\x23[error]forged-legacy" in (f.text or "") for f in failures)
    assert any("\n::error file=x" in (f.text or "") for f in failures)  # &#58; parsed back


@pytest.mark.parametrize("command", ["analyze", "diff", "run"])
def test_json_of_analyze_diff_and_run_is_safe_to_print(command: str) -> None:
    target = INJECTION_RUN if command == "run" else INJECTION
    args = [command, str(target)] + ([str(INJECTION_RUN)] if command == "diff" else [])
    r = run_cli(*args, "--format", "json", *(["--timeout", "10"] if command == "run" else []))
    assert r.returncode in (0, 1), r.stderr
    assert_safe(r.stdout)
    assert "##[" in json.dumps(json.loads(r.stdout), ensure_ascii=False)  # data kept


def test_analyze_text_shows_hostile_names_escaped() -> None:
    r = run_cli("analyze", str(INJECTION))
    assert r.returncode == 0, r.stderr
    assert_safe(_all(r))
    assert r.stdout.startswith("\\x3a:error file=x,line=1::forged-topology-name\\x1b]0;")
    assert "  \\x3a:error::forged-leading " in r.stdout  # a table row starting with '::'
    json.loads(run_cli("analyze", str(INJECTION), "--format", "json").stdout)


def test_diff_text_shows_hostile_names_escaped(tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    text = INJECTION.read_text(encoding="utf-8")
    new.write_text(
        text.replace("max_size: 1kB", "max_size: 2kB").replace('owner: "x##', 'owner: "y##'),
        encoding="utf-8",
    )
    r = run_cli("diff", str(INJECTION), str(new))
    assert r.returncode in (0, 1), r.stderr
    assert "y#\\x23[error]forged-legacy" in r.stdout and "forged-message-type" in r.stdout
    assert_safe(_all(r))


def test_run_text_report_shows_hostile_names_escaped() -> None:
    r = run_cli("run", str(INJECTION_RUN), "--timeout", "10")
    assert r.returncode in (0, 1), r.stderr
    assert "src\\x1b]52;" in r.stdout
    assert_safe(_all(r))


def test_input_error_line_is_one_safe_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SMALL_TOPOLOGY + '"x\\e]0;t\\a\\n::error file=x,line=1::forged\\r##[error]y": 1\n',
        encoding="utf-8",
    )
    r = run_cli("check", str(bad))
    assert r.returncode == 2
    assert_safe(_all(r))
    assert len(r.stderr.splitlines()) == 1, r.stderr
    r = run_cli("analyze", str(bad))
    assert r.returncode == 2
    assert_safe(_all(r))
    assert len(r.stderr.splitlines()) == 1, r.stderr


def test_hostile_file_names(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    name = "::error file=x,line=1::forged\x1b]0;t\x07\n::warning::forged##[error]x.yaml"
    (folder / name).write_text(SMALL_TOPOLOGY, encoding="utf-8")
    (folder / ("broken\n::error::forged.yaml")).write_text("topolint: 1\nname: [\n", "utf-8")
    for fmt in ("text", "github"):
        r = run_cli("check", ".", "--format", fmt, cwd=folder)
        assert r.returncode == 2  # the broken file
        assert "forged" in r.stdout + r.stderr
        bad = RAW.search(_all(r))
        assert bad is None
        assert "##[" not in _all(r)
        for line in _all(r).splitlines():
            if fmt == "github" and line.startswith(("::error file=", "::warning file=")):
                assert "\n" not in line
                continue
            assert not COMMAND_LINE.match(line), line


# --- 2. bounded output -----------------------------------------------------------------------


def test_a_50_mb_line_gives_a_few_kilobytes_of_output(tmp_path: Path) -> None:
    big = tmp_path / "long.yaml"
    pad = "a" * 50_000_000
    big.write_text(
        '{topolint: 1, name: long, x-pad: "' + pad + '", processes: {cam: {sockets: {out: '
        '{type: push, bind: "tcp://*:5555"}}}, sink: {sockets: {in: {type: pull, '
        'connect: "nothing.out"}}}}}\n',
        encoding="utf-8",
    )
    r = run_cli("check", str(big))
    assert r.returncode == 1, r.stderr[:500]
    assert 0 < len(r.stdout) < 10_000
    excerpts = [line for line in r.stdout.splitlines() if line.startswith("1 | ")]
    assert excerpts and all(len(e) <= 4 + 200 + 6 for e in excerpts)
    assert all(e.startswith("1 | ...") for e in excerpts)  # the cut is marked
    # the caret still sits under the column: under the 'n' of "nothing.out" (TL102)
    lines = r.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if " TL102 " in line)
    source, caret = lines[i + 2], lines[i + 3]
    assert (
        source[caret.index("^")] == '"'
        and source[caret.index("^") + 1 : caret.index("^") + 8] == "nothing"
    )


def test_giant_names_are_shortened(tmp_path: Path) -> None:
    """A 100,000-character topology name, process name (an explicit YAML key: libyaml
    caps implicit keys at 1024) and endpoint: every output stays a few kB."""
    f = tmp_path / "names.yaml"
    f.write_text(
        f"topolint: 1\nname: {'n' * 100_000}\nprocesses:\n  ? {'p' * 100_000}\n  : sockets:\n"
        '      out: {type: push, bind: "tcp://*:5555"}\n'
        f'      in: {{type: pull, connect: "q{"e" * 100_000}.out"}}\n',
        encoding="utf-8",
    )
    for args in (("check", str(f)), ("check", str(f), "--format", "github"), ("analyze", str(f))):
        r = run_cli(*args)
        assert r.returncode in (0, 1), r.stderr[:300]
        assert len(r.stdout) < 20_000, args
        assert "p" * 120 + "..." + "p" * 60 in r.stdout
        assert max(len(line) for line in r.stdout.splitlines()) < 5_000


# --- 3. unwritable outputs -------------------------------------------------------------------


def _one_error(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("topolint: cannot write ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("target", "cause"),
    [
        ("json:/nonexistent/x", "/nonexistent/x: No such file or directory"),
        ("sarif:/dev/full", "/dev/full: No space left on device"),
        ("junit:{tmp}", "Is a directory"),
    ],
)
def test_check_output_file_that_cannot_be_written(tmp_path: Path, target: str, cause: str) -> None:
    r = run_cli("check", "fixtures/talk/pubsub-hello.yaml", "-o", target.format(tmp=tmp_path))
    _one_error(r, cause)


def _fairmq_file() -> Path:
    return sorted((ROOT / "tests" / "fairmq_data").glob("*.json"))[0]


def test_import_output_file_that_cannot_be_written() -> None:
    r = run_cli("import", "fairmq", str(_fairmq_file()), "-o", "/dev/full")
    _one_error(r, "/dev/full: No space left on device")


def _to_full(*args: str) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "topolint", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("check", "fixtures/talk/pubsub-hello.yaml"),
        ("check", "fixtures/talk/pubsub-hello.yaml", "--format", "sarif"),
        ("analyze", "fixtures/talk/pipeline-fanout.yaml"),
        ("diff", "fixtures/talk/pipeline.yaml", "fixtures/talk/pipeline-fanout.yaml"),
        ("rules",),
        ("schema",),
        ("explain", "slow-joiner"),
        ("import", "fairmq", "FAIRMQ"),
        ("--version",),
    ],
)
def test_standard_output_on_a_full_disk(args: tuple[str, ...]) -> None:
    args = tuple(str(_fairmq_file()) if a == "FAIRMQ" else a for a in args)
    _one_error(_to_full(*args), "standard output: No space left on device")


@pytest.mark.parametrize(
    "args",
    [("check", "fixtures/"), ("check", "fixtures/", "--format", "json"), ("rules",), ("schema",)],
)
def test_closed_pipe_prints_no_traceback(args: tuple[str, ...]) -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "topolint", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    p.stderr.close()
    assert err == "", err
    assert code in (0, 1)
