"""The ``topolint`` command line: a thin layer over the engine, analyses and reporters.

Exit codes (SPEC §4): 0 nothing at or above the fail level; 1 findings (``run``: a
prediction confirmed or the model violated; ``diff``: breaking changes); 2 the input or
the command line is wrong.  Input errors are one line ``file:line:col: message``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from topolint import __version__
from topolint.errors import InputError, UsageError

_PLAIN_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _coerce_plainly() -> None:
    """Coerce plain parameters without pydantic.

    Recent typer coerces every parameter value through a pydantic ``TypeAdapter``; importing
    pydantic for that costs about as much as a whole check of a small file.  This wraps
    typer's coercion factory: ``str``, ``Path``, ``float``, ``bool`` and ``list[str]``
    values of the ordinary kind are converted here, and anything else (an unusual value,
    a range, another type) still goes to typer's own coercion, so behaviour and messages do
    not change.  A typer without this factory is left alone.
    """
    try:
        from typer import _coercion, core

        original = core.build_runtime_param
        base = _coercion.RuntimeParam
    except (ImportError, AttributeError):  # pragma: no cover - other typer versions
        return
    if getattr(original, "_topolint_plain", False):
        return
    plain = {str, float, bool, Path, list[str]}

    class _Plain(base):  # type: ignore[misc, valid-type]
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            ann = self.annotation
            if ann is str and isinstance(value, str):
                return value
            if ann is bool and isinstance(value, bool):
                return value
            if ann is Path and isinstance(value, str) and value:
                return Path(value)
            if ann is float and isinstance(value, str) and _PLAIN_FLOAT.fullmatch(value):
                return float(value)
            if (
                ann == list[str]
                and isinstance(value, list | tuple)
                and all(isinstance(v, str) for v in value)
            ):
                return list(value)
            fallback = original(_coercion.TypeDescriptor(ann, self.parameter_info, None))
            return fallback._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        info = descriptor.parameter_info
        if (
            descriptor.annotation in plain
            and descriptor.file_annotation is None
            and getattr(info, "parser", None) is None
            and getattr(info, "min", None) is None
            and getattr(info, "max", None) is None
        ):
            return _Plain(annotation=descriptor.annotation, parameter_info=info)
        return original(descriptor)

    build._topolint_plain = True  # type: ignore[attr-defined]
    core.build_runtime_param = build


_coerce_plainly()

app = typer.Typer(
    name="topolint",
    help="Static analysis for ZeroMQ-style message-passing topologies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
import_app = typer.Typer(
    help="Convert other topology formats to topolint YAML.", no_args_is_help=True
)
app.add_typer(import_app, name="import")

FORMATS = ["text", "json", "sarif", "github", "junit", "gitlab"]

VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="Set a ${VARIABLE}: --var NAME=VALUE (repeatable)."),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    _say(f"topolint: {message}")
    return typer.Exit(code)


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [s.strip() for s in v.split(",") if s.strip()]
    return out


def _variables(values: list[str] | None) -> dict[str, str]:
    out = {}
    for v in values or []:
        name, eq, value = v.partition("=")
        if not eq or not name:
            raise UsageError(f"--var expects NAME=VALUE, got {v!r}")
        out[name.strip()] = value
    return out


def _version(value: bool) -> None:
    if value:
        typer.echo(f"topolint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Static analysis for ZeroMQ-style message-passing topologies."""


@app.command()
def check(
    paths: Annotated[list[str], typer.Argument(help="Topology files or folders.")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option(help="Rules to run: names, codes or code prefixes.")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Rules to skip: names, codes or code prefixes.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Lowest severity that fails: error, warning, info."),
    ] = None,
    var: VarOpt = None,
    config: Annotated[Path | None, typer.Option("--config", help="Configuration file.")] = None,
    output_file: Annotated[
        list[str] | None,
        typer.Option(
            "--output-file", "-o", help="Also write FORMAT:FILE (repeatable), e.g. sarif:out.sarif."
        ),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Fail only on findings not in this baseline.")
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option("--write-baseline", help="Record today's findings as the baseline."),
    ] = None,
    skip_non_topologies: Annotated[
        bool,
        typer.Option(
            "--skip-non-topologies", help="Skip named YAML/JSON files that are not topologies."
        ),
    ] = False,
    color: Annotated[
        bool | None, typer.Option("--color/--no-color", help="Colour the text output.")
    ] = None,
) -> None:
    """Lint topology files or folders."""
    from topolint.checking import run_check

    code = run_check(
        paths,
        fmt=format,
        select=_split(select),
        ignore=_split(ignore),
        fail_on=fail_on,
        variables=_variables(var),
        config=config,
        outputs=output_file or [],
        baseline=baseline,
        write_baseline=write_baseline,
        scanning=skip_non_topologies,
        color=color,
    )
    raise typer.Exit(code)


@app.command()
def analyze(
    path: Annotated[Path, typer.Argument(help="Topology file.")],
    format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    var: VarOpt = None,
    kernel: Annotated[
        str,
        typer.Option(
            help="OS buffer limits: 'file' (the file's kernel block / Linux defaults) or 'host'."
        ),
    ] = "file",
    message_size: Annotated[
        str | None,
        typer.Option(
            "--message-size",
            help="Largest message of FairMQ inputs (they cannot say it), e.g. 10kB; "
            "the same as --var message-size=SIZE.",
        ),
    ] = None,
) -> None:
    """Throughput, latency and per-connection / per-process memory bounds."""
    from topolint.analysis import analyze as run_analysis
    from topolint.analysis import render_text
    from topolint.engine import gc_paused, load
    from topolint.graph import build_graph

    if format not in ("text", "json"):
        raise UsageError(f"unknown format {format!r}: expected text or json")
    if kernel not in ("file", "host"):
        raise UsageError(f"unknown --kernel {kernel!r}: expected file or host")
    variables = _variables(var)
    if message_size is not None:
        variables["message-size"] = message_size
    topo = load(path, variables)
    if kernel == "host":
        from topolint.queue_model import Kernel

        topo.kernel = Kernel.from_host()
    with gc_paused():  # hundreds of thousands of live objects: see engine.gc_paused
        result = run_analysis(topo, build_graph(topo))
    if format == "json":
        from topolint.textsafe import defuse_json

        typer.echo(defuse_json(json.dumps(result.to_dict(), indent=2)))
    else:
        typer.echo(render_text(result), nl=False)


@app.command()
def render(
    path: Annotated[Path, typer.Argument(help="Topology file.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Output file: .svg, .png, .dot or .mmd.")
    ],
    findings: Annotated[
        bool, typer.Option("--findings/--no-findings", help="Highlight findings.")
    ] = True,
    var: VarOpt = None,
) -> None:
    """Draw the topology (owners as clusters, findings in red)."""
    from topolint.render import render_file

    render_file(path, output, findings=findings, variables=_variables(var))
    typer.echo(f"wrote {output}")


@app.command()
def run(
    path: Annotated[Path, typer.Argument(help="Topology file.")],
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="stall=PROCESS, late-start=PROCESS:DELAY, kill=PROCESS@FRACTION, drop-end-of-data=PROCESS.",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Stop after this many seconds.")] = 30.0,
    format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    var: VarOpt = None,
    max_memory: Annotated[
        str | None,
        typer.Option(
            "--max-memory",
            metavar="SIZE",
            help="Memory budget of the whole process tree (e.g. 2GiB; default 4 GiB or half the available memory).",
        ),
    ] = None,
) -> None:
    """Run the topology with real ZeroMQ sockets on loopback and check the predictions."""
    from topolint.executor import run as execute

    if format not in ("text", "json"):
        raise UsageError(f"unknown format {format!r}: expected text or json")
    text, code = execute(
        path,
        scenarios=scenario or [],
        timeout=timeout,
        variables=_variables(var),
        fmt=format,
        max_memory=max_memory,
    )
    typer.echo(text, nl=False)
    raise typer.Exit(code)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The old version.")],
    new: Annotated[Path, typer.Argument(help="The new version.")],
    format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    var: VarOpt = None,
) -> None:
    """What changed between two versions, breaking or not, per affected owner."""
    from topolint.diff import diff_files

    if format not in ("text", "json"):
        raise UsageError(f"unknown format {format!r}: expected text or json")
    text, code = diff_files(old, new, fmt=format, variables=_variables(var))
    typer.echo(text, nl=False)
    raise typer.Exit(code)


@app.command("rules")
def rules_cmd(
    format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List the rule catalogue."""
    from topolint.engine import catalogue

    cats = catalogue()
    if format == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "code": r.code,
                        "severity": r.severity.value,
                        "family": r.family,
                        "summary": r.summary,
                    }
                    for r in cats
                ],
                indent=2,
            )
        )
        return
    for r in cats:
        typer.echo(f"{r.code:<7} {r.name:<28} {r.severity.value:<8} {r.summary}")


@app.command()
def explain(rule: Annotated[str, typer.Argument(help="Rule name or code.")]) -> None:
    """Show one rule's documentation."""
    from topolint.engine import rule_by_name

    info = rule_by_name(rule)
    typer.echo(info.docs, nl=False)
    typer.echo(f"\nDefault severity: {info.severity.value}. More: {info.help_uri}")


@app.command()
def schema(
    config: Annotated[
        bool, typer.Option("--config", help="The configuration file's schema instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of the topology format."""
    if config:
        from topolint.config import config_schema

        typer.echo(json.dumps(config_schema(), indent=2))
        return
    from topolint.schema import topology_schema

    typer.echo(json.dumps(topology_schema(), indent=2))


def _import(form: str | None, file: Path, output: Path | None, var: list[str] | None) -> None:
    from topolint import fairmq
    from topolint.loader import read_text

    text = read_text(file, str(file))
    found = fairmq.detect(text)
    if found is None or (form is not None and found != form):
        what = {
            "json": "FairMQ JSON (fairMQOptions)",
            "cmdline": "--channel-config command lines",
            "dds": "DDS topology XML (<topology>)",
        }
        expected = (
            what[form]
            if form
            else "FairMQ JSON, --channel-config command lines or DDS topology XML"
        )
        got = (
            f"; it looks like {what[found]}: use `topolint import {_IMPORT_COMMAND[found]}`"
            if found
            else ""
        )
        raise InputError(f"not {expected}{got}", str(file), 1, 1)
    doc = fairmq.read(text, str(file), found, _variables(var), base=file)
    out = fairmq.to_yaml(doc.data)
    if output:
        from topolint.output import write_file

        write_file(output, out)
        typer.echo(f"wrote {output}")
    else:
        typer.echo(out, nl=False)


_IMPORT_COMMAND = {"json": "fairmq", "cmdline": "cmdline", "dds": "dds"}
_ImportFile = Annotated[Path, typer.Argument(help="The file to convert.")]
_ImportOutput = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
]
_ImportVar = Annotated[
    list[str] | None,
    typer.Option("--var", help="NAME=VALUE for a placeholder ($NAME, ${NAME}, @NAME@, %NAME%)."),
]


@import_app.command("fairmq")
def import_fairmq(file: _ImportFile, output: _ImportOutput = None, var: _ImportVar = None) -> None:
    """Convert any FairMQ form (JSON, command lines, DDS XML; detected) to topolint YAML."""
    _import(None, file, output, var)


@import_app.command("cmdline")
def import_cmdline(file: _ImportFile, output: _ImportOutput = None, var: _ImportVar = None) -> None:
    """Convert FairMQ --channel-config command lines (scripts, text) to topolint YAML."""
    _import("cmdline", file, output, var)


@import_app.command("dds")
def import_dds(file: _ImportFile, output: _ImportOutput = None, var: _ImportVar = None) -> None:
    """Convert a DDS topology (XML) of FairMQ devices to topolint YAML."""
    _import("dds", file, output, var)


def _say(line: str) -> None:
    """One line on stderr, made safe (:func:`topolint.textsafe.clean`); a stderr that
    cannot take it is ignored: there is nowhere else to say it."""
    import contextlib

    from topolint.textsafe import clean

    with contextlib.suppress(OSError, ValueError):
        typer.echo(clean(line), err=True)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the app, turning input, usage and output errors into exit code 2.

    Every error is one line on stderr with control characters shown as escapes.  Standard
    output is guarded (:func:`topolint.output.guard_stdout`): a full disk behind it is
    ``topolint: cannot write to standard output: ...`` (exit 2), a closed pipe exit 1.
    """
    from topolint.output import guard_stdout

    guard_stdout()
    code: Any
    try:
        try:
            app(args=argv, standalone_mode=True)
            code = 0
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()  # short outputs reach a full disk only here
    except InputError as e:
        _say(str(e))
        code = 2
    except UsageError as e:  # also an output that cannot be written (OutputError)
        _say(f"topolint: {e}")
        code = 2
    except KeyboardInterrupt:
        _say("topolint: interrupted")
        code = 130
    except BrokenPipeError:
        code = 1
    except (
        Exception
    ) as e:  # an internal error: one line, exit 2 (set TOPOLINT_DEBUG=1 for the traceback)
        if os.environ.get("TOPOLINT_DEBUG"):
            raise
        _say(
            f"topolint: internal error: {type(e).__name__}: {e} (set TOPOLINT_DEBUG=1 for details)"
        )
        code = 2
    sys.exit(code)
