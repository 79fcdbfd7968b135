"""Hostile values, endpoints and variables through the real command line (issue 12).

topolint is a CI gate on files that whoever opens a pull request controls.  A number of any
size in any numeric field, a value libzmq cannot set, an endpoint libzmq cannot use and a
``${VAR}`` naming a CI secret must each end in one located input error (exit 2,
``file:line:col: message`` naming the allowed range) or in findings — never an internal
error, and never a secret in a report.  Inputs: ``tests/hostile/`` (see its README) and
topologies made here from :data:`BASE`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

CORPUS = ROOT / "tests" / "hostile"
BIG = "1" + "0" * 400  # a 401-digit integer: float() of it raises OverflowError

#: Every numeric field; ``{name}`` is replaced by the value under test.
BASE = """\
topolint: 1
name: values
kernel: {{tcp_wmem: [4096, 16384, {tcp_wmem}], tcp_rmem: [4096, {tcp_rmem}, 6291456],
  wmem_max: {wmem_max}, rmem_max: {rmem_max}, wmem_default: {wmem_default},
  rmem_default: {rmem_default}, gso_max_size: {gso_max_size}}}
defaults: {{sndhwm: {defaults_sndhwm}, rcvbuf: {defaults_rcvbuf}}}
messages:
  m: {{max_size: {max_size}, encoding: raw}}
processes:
  src:
    rate: {rate}
    count: {count}
    memory_limit: {memory_limit}
    period: {period}
    phase: {phase}
    end_of_data: {{action: emit, timeout: {eod_timeout}}}
    sockets:
      out: {{type: push, bind: "tcp://*:5555", sends: m, sndhwm: {sndhwm}, sndbuf: {sndbuf},
             linger: {linger}, maxmsgsize: {maxmsgsize}}}
  sink:
    replicas: {replicas}
    service_time: {service_time}
    end_of_data: {{action: consume, wait_for: {wait_for}}}
    join: {{inputs: [a, b], match: key, max_pending: {max_pending}, timeout: {join_timeout}}}
    sockets:
      a: {{type: pull, connect: src.out, receives: m, rcvhwm: {rcvhwm}, rcvbuf: {rcvbuf}}}
      b: {{type: pull, connect: src.out, receives: m}}
"""
GOOD = {
    "tcp_wmem": "4194304",
    "tcp_rmem": "131072",
    "wmem_max": "212992",
    "rmem_max": "212992",
    "wmem_default": "212992",
    "rmem_default": "212992",
    "gso_max_size": "65536",
    "defaults_sndhwm": "1000",
    "defaults_rcvbuf": "64kB",
    "max_size": "1kB",
    "rate": "1000/s",
    "count": "100",
    "memory_limit": "1GB",
    "period": "1s",
    "phase": "0s",
    "eod_timeout": "1s",
    "sndhwm": "10",
    "sndbuf": "64kB",
    "linger": "0",
    "maxmsgsize": "1MB",
    "replicas": "1",
    "service_time": "1ms",
    "wait_for": "1",
    "max_pending": "10",
    "join_timeout": "2s",
    "rcvhwm": "10",
    "rcvbuf": "64kB",
}
#: Fields with a unit: the 400 digits also come with one.
UNITS = {
    "max_size": "B",
    "memory_limit": "B",
    "sndbuf": "kB",
    "rcvbuf": "B",
    "maxmsgsize": "MB",
    "defaults_rcvbuf": "kB",
    "rate": "/s",
    "period": "ms",
    "phase": "s",
    "eod_timeout": "us",
    "service_time": "min",
    "linger": "ms",
    "join_timeout": "s",
}


def topology(**values: str) -> str:
    return BASE.format(**{**GOOD, **values})


def line_of(text: str, field: str, value: str) -> int:
    """The line of ``field``'s value in :data:`BASE` (where the error must point)."""
    key = {"defaults_sndhwm": "sndhwm", "defaults_rcvbuf": "rcvbuf"}.get(field, field)
    key = {"eod_timeout": "timeout", "join_timeout": "timeout"}.get(key, key)
    for n, line in enumerate(text.splitlines(), start=1):
        if value in line and re.search(rf"\b{key}\b", line):
            return n
    raise AssertionError(f"{field} not found")


def assert_located_error(r, name: str, line: int | None = None) -> str:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "internal error" not in out and "Traceback" not in out, out
    first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
    assert re.match(rf".*{re.escape(name)}:\d+:\d+: ", first), out
    if line is not None:
        assert f"{name}:{line}:" in first, out
    assert len(first) < 400, first  # a 400-digit value is cut short
    return first


def test_base_topology_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "values.yaml"
    f.write_text(topology())
    r = run_cli("check", str(f))
    assert r.returncode in (0, 1), r.stdout + r.stderr


@pytest.mark.parametrize("field", sorted(GOOD))
def test_400_digit_integer_is_a_located_error_in_check(tmp_path: Path, field: str) -> None:
    f = tmp_path / "values.yaml"
    text = topology(**{field: BIG})
    f.write_text(text)
    message = assert_located_error(
        run_cli("check", str(f)), "values.yaml", line_of(text, field, BIG)
    )
    assert re.search(r"range|larger than|at most|from \d", message), message


@pytest.mark.parametrize("field", sorted(UNITS))
def test_400_digits_with_a_unit(tmp_path: Path, field: str) -> None:
    f = tmp_path / "values.yaml"
    value = BIG + UNITS[field]
    text = topology(**{field: value})
    f.write_text(text)
    message = assert_located_error(
        run_cli("check", str(f)), "values.yaml", line_of(text, field, BIG)
    )
    assert "larger than" in message or "longer than" in message, message


@pytest.mark.parametrize("command", ["analyze", "render", "diff"])
@pytest.mark.parametrize("field", ["count", "sndhwm", "rate", "wmem_default", "linger"])
def test_400_digits_in_analyze_render_diff(tmp_path: Path, command: str, field: str) -> None:
    f = tmp_path / "values.yaml"
    f.write_text(topology(**{field: BIG}))
    good = tmp_path / "good.yaml"
    good.write_text(topology())
    args = {
        "analyze": ["analyze", str(f)],
        "render": ["render", str(f), "-o", str(tmp_path / "out.dot")],
        "diff": ["diff", str(good), str(f)],
    }[command]
    assert_located_error(run_cli(*args), "values.yaml")


#: Values check used to accept that libzmq cannot set: its options are C ints.
LIBZMQ_LIMITS = {
    "sndhwm": ("2147483648", "2,147,483,647"),
    "rcvhwm": ("100000000000000000000", "2,147,483,647"),
    "defaults_sndhwm": ("2147483648", "2,147,483,647"),
    "sndbuf": ("1TB", "2,147,483,647 bytes"),
    "rcvbuf": ("2147483648", "2,147,483,647 bytes"),
    "defaults_rcvbuf": ("3GiB", "2,147,483,647 bytes"),
    "linger": ("1000000000", "2,147,483,647 ms"),
    "wmem_max": ("2147483648", "2,147,483,647"),
    "max_pending": ("2147483648", "2,147,483,647"),
    "count": ("10000000000000000", "1,000,000,000,000,000"),
    "replicas": ("100001", "100,000"),
}


@pytest.mark.parametrize("field", sorted(LIBZMQ_LIMITS))
def test_values_libzmq_cannot_set(tmp_path: Path, field: str) -> None:
    value, cap = LIBZMQ_LIMITS[field]
    f = tmp_path / "values.yaml"
    text = topology(**{field: value})
    f.write_text(text)
    message = assert_located_error(
        run_cli("check", str(f)), "values.yaml", line_of(text, field, value)
    )
    assert cap in message, message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sndhwm", "2147483647"),
        ("sndbuf", "2147483647"),
        ("linger", "2147483647ms"),
        ("linger", "-1"),
        ("count", "1_000_000_000_000_000"),
        ("replicas", "100"),
    ],
)
def test_largest_values_libzmq_can_set_are_accepted(tmp_path: Path, field: str, value: str) -> None:
    f = tmp_path / "values.yaml"
    f.write_text(topology(**{field: value}))
    r = run_cli("check", str(f))
    assert r.returncode in (0, 1), r.stdout + r.stderr


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", '"٣"'),  # Arabic-Indic three: int() takes it
        ("replicas", '"²"'),  # superscript two: str.isdigit() takes it
        ("replicas", '"０"'),  # fullwidth zero
        ("service_time", '"３ms"'),
        ("max_size", '"١٠kB"'),
        ("rate", '"５/s"'),
    ],
)
def test_non_ascii_digits_are_not_numbers(tmp_path: Path, field: str, value: str) -> None:
    f = tmp_path / "values.yaml"
    text = topology(**{field: value})
    f.write_text(text, encoding="utf-8")
    assert_located_error(run_cli("check", str(f)), "values.yaml", line_of(text, field, value))


ENDPOINT = """\
topolint: 1
name: endpoints
runs: continuous
processes:
  server:
    sockets:
      out: {{type: push, bind: "{bind}"}}
  client:
    sockets:
      in: {{type: pull, connect: "{connect}"}}
"""
LONG_IPC = "/tmp/" + "a" * 103  # 108 bytes: one too many for sun_path


@pytest.mark.parametrize(
    ("bind", "connect", "where", "message"),
    [
        ("tcp://*:65536", "tcp://localhost:65536", 7, "expected 1 to 65535"),
        ("tcp://*:5555", "tcp://localhost:65536", 10, "expected 1 to 65535"),
        ("tcp://*:99999999999999999999", "server.out", 7, "expected 1 to 65535"),
        ("tcp://*:²", "server.out", 7, "ASCII digits"),
        ("tcp://*:5555", "tcp://localhost:٣٣", 10, "ASCII digits"),
        ("tcp://*:０", "server.out", 7, "ASCII digits"),
        ("tcp://*:5555", "tcp://localhost:0", 10, "only means 'any free port' to a bind"),
        ("tcp://*:5555", "tcp://localhost:*", 10, "only means 'any free port' to a bind"),
        ("ws://*:70000/x", "server.out", 7, "expected 1 to 65535"),
        ("ipc://" + LONG_IPC, "server.out", 7, "at most 107"),
        ("ipc:///tmp/ok", "ipc://" + LONG_IPC, 10, "at most 107"),
        ("ipc://@" + "b" * 107, "server.out", 7, "abstract name counts"),
        ("ipc:///tmp/ok", "ipc://*", 10, "'a fresh name' to a bind"),
        ("ipc://@", "server.out", 7, "empty abstract socket name"),
    ],
)
def test_endpoints_libzmq_cannot_use(
    tmp_path: Path, bind: str, connect: str, where: int, message: str
) -> None:
    f = tmp_path / "endpoints.yaml"
    f.write_text(ENDPOINT.format(bind=bind, connect=connect), encoding="utf-8")
    first = assert_located_error(run_cli("check", str(f)), "endpoints.yaml", where)
    assert message in first, first


@pytest.mark.parametrize(
    ("bind", "connect"),
    [
        ("tcp://*:65535", "tcp://localhost:65535"),
        ("tcp://*:1", "tcp://localhost:00001"),  # leading zeros: the same port
        ("tcp://*:0", "tcp://localhost:7000"),  # a bind on any free port
        ("tcp://*:*", "tcp://localhost:7000"),
        ("ipc://" + LONG_IPC[:-1], "ipc://" + LONG_IPC[:-1]),  # 107 bytes: fits
        ("ipc://@" + "b" * 106, "ipc://@" + "b" * 106),
        ("ipc://*", "server.out"),
    ],
)
def test_endpoints_at_the_limits_are_accepted(tmp_path: Path, bind: str, connect: str) -> None:
    f = tmp_path / "endpoints.yaml"
    f.write_text(ENDPOINT.format(bind=bind, connect=connect))
    r = run_cli("check", str(f), "--format", "json")
    assert r.returncode in (0, 1), r.stdout + r.stderr


def test_leading_zeros_meet_the_same_port(tmp_path: Path) -> None:
    f = tmp_path / "endpoints.yaml"
    f.write_text(ENDPOINT.format(bind="tcp://*:1", connect="tcp://localhost:00001"))
    r = run_cli("check", str(f), "--select", "unresolved-endpoint")
    assert r.returncode == 0, r.stdout + r.stderr


def test_two_binds_on_any_free_port_do_not_conflict(tmp_path: Path) -> None:
    f = tmp_path / "endpoints.yaml"
    text = ENDPOINT.format(bind="tcp://*:0", connect="server.out").replace(
        "  client:", "    replicas: 3\n  client:"
    )
    f.write_text(text)
    r = run_cli("check", str(f), "--select", "endpoint-conflict")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    "name",
    [
        "digits-400.yaml",
        "libzmq-int-limits.yaml",
        "ports-non-ascii.yaml",
        "port-out-of-range.yaml",
        "connect-port-zero.yaml",
        "ipc-path-too-long.yaml",
    ],
)
def test_corpus_values_and_endpoints(name: str) -> None:
    r = run_cli("check", str(CORPUS / name))
    assert_located_error(r, name)


# --- ${VAR} and the environment ----------------------------------------------------------

SECRETS = {"AWS_SECRET_ACCESS_KEY": "AKIA-SECRET-VALUE", "GITHUB_TOKEN": "ghp-TOKEN-VALUE"}
VARS = """\
topolint: 1
name: vars
runs: continuous
processes:
  camera:
    host: "{host}"
    sockets:
      out: {{type: push, bind: "tcp://*:7000"}}
  worker:
    sockets:
      in: {{type: pull, connect: "tcp://{target}:7000"}}
"""


def leaked(r) -> bool:
    return any(v in r.stdout + r.stderr for v in SECRETS.values())


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_default_never_reads_a_secret(tmp_path: Path, fmt: str) -> None:
    r = run_cli("check", str(CORPUS / "env-secret.yaml"), "--format", fmt, env=SECRETS)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert not leaked(r)


def test_analyze_render_diff_never_read_a_secret(tmp_path: Path) -> None:
    src = CORPUS / "env-secret.yaml"
    out = tmp_path / "out.dot"
    for args in (["analyze", str(src)], ["render", str(src), "-o", str(out)]):
        r = run_cli(*args, env=SECRETS)
        assert r.returncode in (0, 1), r.stdout + r.stderr
        assert not leaked(r)
    assert not any(v in out.read_text() for v in SECRETS.values())
    other = tmp_path / "other.yaml"
    other.write_text(src.read_text().replace("leak:", "leak2:"))
    r = run_cli("diff", str(src), str(other), env=SECRETS)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert not leaked(r)


def test_an_environment_variable_not_in_allow_env_is_unresolved(tmp_path: Path) -> None:
    f = tmp_path / "vars.yaml"
    f.write_text(VARS.format(host="localhost", target="${AWS_SECRET_ACCESS_KEY}"))
    r = run_cli("check", str(f), env=SECRETS)
    first = assert_located_error(r, "vars.yaml", 11)
    assert "unresolved variable ${AWS_SECRET_ACCESS_KEY}" in first
    assert "not in allow-env" in first and "add AWS_SECRET_ACCESS_KEY to allow-env" in first
    assert not leaked(r)


@pytest.mark.parametrize("config", ["pyproject.toml", ".topolint.yaml"])
def test_allow_env_names_and_globs(tmp_path: Path, config: str) -> None:
    if config == "pyproject.toml":
        text = '[tool.topolint]\nallow-env = ["CAMERA_HOST", "DEPLOY_*"]\n'
    else:
        text = 'allow-env: [CAMERA_HOST, "DEPLOY_*"]\n'
    (tmp_path / config).write_text(text)
    f = tmp_path / "vars.yaml"
    f.write_text(VARS.format(host="${CAMERA_HOST}", target="${DEPLOY_TARGET}"))
    env = {**SECRETS, "CAMERA_HOST": "cam-7", "DEPLOY_TARGET": "cam-7"}
    r = run_cli("check", "vars.yaml", "--select", "unresolved-endpoint", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr  # worker meets camera on cam-7
    r = run_cli("analyze", "vars.yaml", "--format", "json", cwd=tmp_path, env=env)
    assert r.returncode == 0 and "cam-7" in r.stdout, r.stdout + r.stderr
    # a name the globs do not match stays unresolved, whatever the environment says
    f.write_text(VARS.format(host="${CAMERA_HOST}", target="${GITHUB_TOKEN}"))
    r = run_cli("check", "vars.yaml", cwd=tmp_path, env=env)
    assert "not in allow-env" in assert_located_error(r, "vars.yaml", 11)
    assert not leaked(r)


def test_allowed_but_unset(tmp_path: Path) -> None:
    (tmp_path / ".topolint.yaml").write_text("allow-env: [CAMERA_HOST]\n")
    (tmp_path / "vars.yaml").write_text(VARS.format(host="${CAMERA_HOST}", target="localhost"))
    r = run_cli("check", "vars.yaml", cwd=tmp_path)
    first = assert_located_error(r, "vars.yaml", 6)
    assert "allow-env lets it come from the environment, where it is not set" in first


def test_var_needs_no_allow_env_and_wins(tmp_path: Path) -> None:
    (tmp_path / ".topolint.yaml").write_text("allow-env: [CAMERA_HOST]\n")
    (tmp_path / "vars.yaml").write_text(VARS.format(host="${CAMERA_HOST}", target="cam-1"))
    env = {"CAMERA_HOST": "from-env"}
    args = ["check", "vars.yaml", "--select", "unresolved-endpoint", "--var", "CAMERA_HOST=cam-1"]
    r = run_cli(*args, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_allow_env_of_the_wrong_type_is_a_located_configuration_error(tmp_path: Path) -> None:
    (tmp_path / ".topolint.yaml").write_text("select: [ALL]\nallow-env: CAMERA_HOST\n")
    (tmp_path / "vars.yaml").write_text(VARS.format(host="localhost", target="localhost"))
    r = run_cli("check", "vars.yaml", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert ".topolint.yaml:2:" in r.stderr and "allow-env" in r.stderr


def test_config_schema_has_allow_env() -> None:
    r = run_cli("schema", "--config")
    assert r.returncode == 0 and '"allow-env"' in r.stdout
