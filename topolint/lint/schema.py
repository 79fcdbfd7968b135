"""The JSON Schema of the topology format (version 1) and validation with good messages.

Validation reports the single best-matching error (no cascade of ``oneOf`` alternatives)
at the position of the offending element; unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sized
from functools import lru_cache, partial
from typing import Any

from topolint.errors import InputError
from topolint.lint.loader import Document
from topolint.lint.sockets import SOCKET_TYPES
from topolint.lint.units import INT32_MAX, show

EOD_ACTIONS = ["emit", "forward", "consume", "none"]
ENCODINGS = ["json", "msgpack", "protobuf", "pickle", "raw"]
SYNC = ["none", "sleep", "handshake", "subscription-events", "welcome"]
_X: dict[str, Any] = {"^x-": {}}

_size: dict[str, Any] = {
    "type": ["integer", "string"],
    "description": "bytes, or e.g. '10kB', '512MiB'",
}
_duration: dict[str, Any] = {
    "type": ["number", "string"],
    "description": "seconds, or e.g. '500us', '2s'",
}
_rate: dict[str, Any] = {
    "type": ["number", "string"],
    "description": "per second, or e.g. '1000/s'",
}
_count: dict[str, Any] = {"type": ["integer", "string"]}
_hwm: dict[str, Any] = {
    "type": "integer",
    "minimum": 0,
    "maximum": INT32_MAX,
    "description": "messages; 0 = unlimited; a C int in libzmq",
}
#: Linux's buffer sysctls are C ints.
_sysctl: dict[str, Any] = {
    "type": "integer",
    "minimum": 0,
    "maximum": INT32_MAX,
    "description": "bytes; a C int in Linux",
}
_endpoints: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}


def _d(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` described by ``text`` (before its unit description, if it has one)."""
    unit = schema.get("description")
    return {**schema, "description": f"{text}: {unit}" if unit else text}


def _obj(props: dict[str, Any], required: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "patternProperties": _X,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    out.update(kw)
    return out


SOCKET_OPTIONS: dict[str, Any] = {
    "sndhwm": _d("ZMQ_SNDHWM, send high-water mark per peer (default 1000)", _hwm),
    "rcvhwm": _d("ZMQ_RCVHWM, receive high-water mark per peer (default 1000)", _hwm),
    "sndbuf": _d("ZMQ_SNDBUF, kernel send buffer; absent: left to the OS (autotuned)", _size),
    "rcvbuf": _d("ZMQ_RCVBUF, kernel receive buffer; absent: left to the OS", _size),
    "linger": {
        "type": ["number", "string"],
        "description": "ZMQ_LINGER, how long close waits to deliver queued messages: "
        "duration, or -1 / 'infinite' (libzmq's default)",
    },
    "immediate": {
        "type": "boolean",
        "description": "ZMQ_IMMEDIATE: queue only to completed connections",
    },
    "conflate": {
        "type": "boolean",
        "description": "ZMQ_CONFLATE: keep only the last message (queue of one)",
    },
    "nodrop": {
        "type": "boolean",
        "description": "ZMQ_XPUB_NODROP: block (or fail) at the HWM instead of dropping",
    },
    "maxmsgsize": _d("ZMQ_MAXMSGSIZE, largest message accepted", _size),
}

SOCKET = _obj(
    {
        "type": {"enum": list(SOCKET_TYPES), "description": "ZeroMQ socket type"},
        "bind": _d(
            "endpoint(s) this socket binds: tcp://HOST:PORT (* = every interface), "
            "ipc://PATH, inproc://NAME",
            _endpoints,
        ),
        "connect": _d(
            "endpoint(s) this socket connects to: a reference PROCESS.SOCKET (preferred) "
            "or tcp://, ipc://, inproc:// as for bind",
            _endpoints,
        ),
        "sends": {"type": "string", "description": "the message type (in messages) it sends"},
        "receives": {
            "type": "string",
            "description": "the message type (in messages) it receives",
        },
        **SOCKET_OPTIONS,
        "subscribe": {
            "type": "array",
            "items": {"type": "string"},
            "description": "SUB: topic prefixes subscribed to ('' = everything)",
        },
        "curve": {
            "enum": ["server", "client"],
            "description": "CURVE security role; both ends of a link must use it",
        },
        "sync": {
            "enum": SYNC,
            "description": "how a publisher waits for its subscribers before sending",
        },
        "loss_tolerant": {
            "type": "boolean",
            "description": "this socket's stream may lose messages (overrides the message type)",
        },
        "carries": {
            "type": "array",
            "items": {"enum": ["end-of-data", "data"]},
            "description": "what the socket carries; [end-of-data]: a control socket only",
        },
    },
    ["type"],
)

END_OF_DATA = {
    "oneOf": [
        {"enum": EOD_ACTIONS},
        _obj(
            {
                "action": {
                    "enum": EOD_ACTIONS,
                    "description": "emit (a source), forward (after its inputs end), "
                    "consume (a sink), none",
                },
                "wait_for": {
                    "oneOf": [
                        {"enum": ["all", "any"]},
                        {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                    ],
                    "description": "how many upstream end-of-data signals it waits for: "
                    "all (default), any, or a count",
                },
                "timeout": _d("longest wait for end-of-data before giving up", _duration),
            },
            ["action"],
        ),
    ],
    "description": "what the process does with end-of-data: an action, or a mapping",
}

JOIN = _obj(
    {
        "inputs": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 2,
            "description": "names of the joined sockets of this process (default: every "
            "data input)",
        },
        "match": {
            "enum": ["key", "order", "any", "latest"],
            "description": "how units are matched across inputs: by the message key, by "
            "arrival order, any message, the latest of each",
        },
        "max_pending": {
            "type": "integer",
            "minimum": 0,
            "maximum": INT32_MAX,
            "description": "unmatched units the join may hold",
        },
        "timeout": _d("longest wait for the other inputs of a unit", _duration),
        "on_timeout": {
            "enum": ["drop", "emit-partial"],
            "description": "what happens to an incomplete unit at the timeout",
        },
    },
    ["match"],
    description="a process with several data inputs: how it matches them",
)

PROCESS = _obj(
    {
        "owner": {"type": "string", "description": "team that owns the process"},
        "host": {
            "type": "string",
            "description": "host it runs on (default localhost); literal or ${VAR}",
        },
        "replicas": {
            "type": ["integer", "string"],
            "description": "identical instances, each wired the same way (default 1)",
        },
        "memory_limit": _d("budget for its worst-case queued bytes", _size),
        "rate": _d("a source's emission rate (absent: unlimited)", _rate),
        "count": _d("messages a source emits in one run", _count),
        "service_time": _d("time to handle one message", _duration),
        "period": _d("a periodic publisher's interval", _duration),
        "phase": _d("a periodic publisher's offset within its period", _duration),
        "filters": {
            "type": "boolean",
            "description": "the process may drop or skip messages",
        },
        "lifecycle": {
            "enum": ["per-run", "persistent"],
            "description": "per-run (default) or persistent: reused across runs",
        },
        "on_start": {
            "type": "array",
            "items": {"enum": ["drain"]},
            "description": "actions at start; [drain]: clear stale queued messages",
        },
        "end_of_data": END_OF_DATA,
        "join": JOIN,
        "sockets": {
            "type": "object",
            "additionalProperties": SOCKET,
            "description": "the process's sockets by name",
        },
    }
)

MESSAGE = _obj(
    {
        "max_size": _d("largest payload; drives the memory bound", _size),
        "key": {
            "type": "string",
            "description": "field identifying one data unit across streams (joins)",
        },
        "encoding": {"enum": ENCODINGS, "description": "wire encoding"},
        "version": {"type": ["integer", "string"], "description": "contract version"},
        "schema": {
            "type": ["object", "string", "boolean"],
            "description": "JSON Schema of the payload, or a relative path to one",
        },
        "loss_tolerant": {
            "type": "boolean",
            "description": "streams of this type may lose messages",
        },
        "description": {"type": "string", "description": "free text"},
    }
)

_int3 = {"type": "array", "items": _sysctl, "minItems": 3, "maxItems": 3}


def _tcp_mem(name: str) -> dict[str, Any]:
    return {**_int3, "description": f"net.ipv4.{name}: [min, default, max] bytes"}


def _core(name: str) -> dict[str, Any]:
    return _d(f"net.core.{name}", _sysctl)


TOPOLOGY: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://topolint.readthedocs.io/schema/topology-1.json",
    "title": "topolint topology (format version 1)",
    **_obj(
        {
            "topolint": {"const": 1, "description": "format version (1)"},
            "name": {"type": "string", "minLength": 1, "description": "the topology's name"},
            "description": {"type": "string", "description": "free text"},
            "environment": {
                "type": "string",
                "description": "the environment this file deploys to (e.g. test)",
            },
            "runs": {
                "enum": ["finite", "continuous"],
                "description": "finite (default): the run ends and end-of-data must reach "
                "every sink; continuous: it never ends",
            },
            "environments": {
                "type": "object",
                "additionalProperties": _obj(
                    {
                        "hosts": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "host name globs (or IP networks) of the environment",
                        },
                        "networks": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "IP networks (CIDR) of the environment",
                        },
                    }
                ),
                "description": "which hosts belong to which environment, by name",
            },
            "defaults": _obj(
                SOCKET_OPTIONS, description="socket options applied where a socket is silent"
            ),
            "kernel": _obj(
                {
                    "tcp_wmem": _tcp_mem("tcp_wmem"),
                    "tcp_rmem": _tcp_mem("tcp_rmem"),
                    "wmem_max": _core("wmem_max"),
                    "rmem_max": _core("rmem_max"),
                    "wmem_default": _core("wmem_default"),
                    "rmem_default": _core("rmem_default"),
                    "gso_max_size": _d("the interface's GSO maximum size", _sysctl),
                },
                description="OS buffer limits for the memory model (Linux defaults if absent)",
            ),
            "messages": {
                "type": "object",
                "additionalProperties": MESSAGE,
                "description": "message types by name: the contracts between processes",
            },
            "processes": {
                "type": "object",
                "additionalProperties": PROCESS,
                "minProperties": 1,
                "description": "the processes by name",
            },
        },
        ["topolint", "name", "processes"],
    ),
}


def topology_schema() -> dict[str, Any]:
    """The JSON Schema of the topology format."""
    return TOPOLOGY


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(TOPOLOGY)


# --- a fast yes/no check ------------------------------------------------------------------
#
# Validating a 30,000-process file with jsonschema takes seconds (and importing it a good
# part of a small check).  The topology schema uses a small set of keywords, so it is
# compiled once into plain Python closures that only answer "valid or not".  A valid
# document (the usual case) never touches jsonschema; an invalid one is handed to jsonschema
# for the best-match error, so messages are exactly as before.  A schema keyword the
# compiler does not know makes it give up (jsonschema then does all the work).

Check = Callable[[Any], bool]

#: Keywords that only annotate.
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "examples"})
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


class _Unsupported(Exception):
    pass


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema has it: ``true`` is not ``1``, ``1.0`` is ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    return isinstance(a, int | float) and isinstance(b, int | float) and a == b


def _always(v: Any) -> bool:
    return True


def _never(v: Any) -> bool:
    return False


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _all(checks: tuple[Check, ...]) -> Check:
    def check(v: Any) -> bool:
        return all(f(v) for f in checks)

    return check


def _keyword(kw: str, arg: Any) -> Check:
    """The check of one keyword (``properties`` and friends: :func:`_compile_object`)."""
    compile_keyword = _KEYWORDS.get(kw)
    if compile_keyword is None:
        raise _Unsupported(kw)
    return compile_keyword(arg)


def _type_check(arg: Any) -> Check:
    """``type``: one JSON type name or a list of them."""
    names = [arg] if isinstance(arg, str) else list(arg)
    if any(n not in _TYPES for n in names):
        raise _Unsupported(f"type {arg!r}")
    tests = tuple(_TYPES[n] for n in names)
    if len(tests) == 1:
        return tests[0]

    def any_type(v: Any) -> bool:
        return any(f(v) for f in tests)

    return any_type


def _enum_check(arg: Any) -> Check:
    """``enum``: a set lookup when every value is a string, else JSON equality."""
    values = list(arg)
    strings = frozenset(x for x in values if isinstance(x, str))
    if len(strings) == len(values):

        def string_enum(v: Any) -> bool:
            return isinstance(v, str) and v in strings

        return string_enum

    def enum(v: Any) -> bool:
        return any(_json_equal(v, x) for x in values)

    return enum


def _const_check(arg: Any) -> Check:
    """``const``: JSON equality with ``arg``."""

    def const(v: Any) -> bool:
        return _json_equal(v, arg)

    return const


def _minimum_check(arg: Any) -> Check:
    """``minimum``: numbers at least ``arg`` (other values pass)."""

    def minimum(v: Any) -> bool:
        return not _is_number(v) or bool(v >= arg)

    return minimum


def _maximum_check(arg: Any) -> Check:
    """``maximum``: numbers at most ``arg`` (other values pass)."""

    def maximum(v: Any) -> bool:
        return not _is_number(v) or bool(v <= arg)

    return maximum


def _size_check(kind: type[Sized], most: bool, arg: Any) -> Check:
    """``minLength``, ``minItems``, ``maxItems``, ``minProperties``: the length of values
    of ``kind`` at least (``most``: at most) ``arg`` (other values pass)."""

    def size(v: Any) -> bool:
        if not isinstance(v, kind):
            return True
        return len(v) <= arg if most else len(v) >= arg

    return size


def _required_check(arg: Any) -> Check:
    """``required``: objects hold every key of ``arg``."""
    keys = tuple(arg)

    def required(v: Any) -> bool:
        return not isinstance(v, dict) or all(k in v for k in keys)

    return required


def _items_check(arg: Any) -> Check:
    """``items``: every element of an array is valid against the schema ``arg``."""
    item = _compile(arg)

    def items(v: Any) -> bool:
        return not isinstance(v, list) or all(item(x) for x in v)

    return items


def _one_of_check(arg: Any) -> Check:
    """``oneOf``: valid against exactly one of the schemas ``arg``."""
    alternatives = tuple(_compile(x) for x in arg)

    def one_of(v: Any) -> bool:
        return sum(1 for f in alternatives if f(v)) == 1

    return one_of


#: The compiler of each supported keyword, given its argument.
_KEYWORDS: dict[str, Callable[[Any], Check]] = {
    "type": _type_check,
    "enum": _enum_check,
    "const": _const_check,
    "minimum": _minimum_check,
    "maximum": _maximum_check,
    "minLength": partial(_size_check, str, False),
    "minItems": partial(_size_check, list, False),
    "maxItems": partial(_size_check, list, True),
    "minProperties": partial(_size_check, dict, False),
    "required": _required_check,
    "items": _items_check,
    "oneOf": _one_of_check,
}


_OBJECT_KEYWORDS = ("properties", "patternProperties", "additionalProperties")


def _compile(schema: Any) -> Check:
    """A function telling whether an instance is valid against ``schema`` (subset only)."""
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise _Unsupported(repr(schema))
    checks = [
        _keyword(kw, arg)
        for kw, arg in schema.items()
        if kw not in _ANNOTATIONS and kw not in _OBJECT_KEYWORDS
    ]
    if any(k in schema for k in _OBJECT_KEYWORDS):
        checks.append(_compile_object(schema))
    if not checks:
        return _always
    return checks[0] if len(checks) == 1 else _all(tuple(checks))


def _compile_object(schema: dict[str, Any]) -> Check:
    props = {k: _compile(v) for k, v in schema.get("properties", {}).items()}
    patterns = [
        (re.compile(p), _compile(v)) for p, v in schema.get("patternProperties", {}).items()
    ]
    extra = schema.get("additionalProperties", True)
    extra_check = None if extra is True else _compile(extra)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, value in v.items():
            f = props.get(key)
            matched = False
            if f is not None:
                if not f(value):
                    return False
                matched = True
            for rx, pf in patterns:
                if rx.search(key):
                    matched = True
                    if not pf(value):
                        return False
            if not matched and extra_check is not None and not extra_check(value):
                return False
        return True

    return check


@lru_cache(maxsize=1)
def _fast_check() -> Check | None:
    try:
        return _compile(TOPOLOGY)
    except _Unsupported:  # pragma: no cover - the schema grew a keyword: use jsonschema
        return None


def is_valid(data: Any) -> bool:
    """Whether ``data`` satisfies the topology schema (fast; no messages)."""
    check = _fast_check()
    if check is None:  # pragma: no cover
        return bool(_validator().is_valid(data))
    try:
        return check(data)
    except RecursionError:  # pragma: no cover - the loader bounds nesting
        return False


def _allowed_keys(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def validate(doc: Document) -> None:
    """Raise :class:`InputError` for the best-matching schema violation, if any."""
    if is_valid(doc.data):
        return
    from jsonschema.exceptions import best_match

    validator = _validator()
    error = best_match(validator.iter_errors(doc.data))
    if error is None:
        return
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _allowed_keys(error.schema)
        extra = [k for k in error.instance if k not in allowed and not str(k).startswith("x-")]
        if extra:
            key = extra[0]
            where = "/".join(str(p) for p in path) or "top level"
            msg = f"unknown key {key!r} in {where}"
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            msg += (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; expected one of: {', '.join(allowed)}"
            )
            pos = doc.position((*path, key))
            raise InputError(msg, doc.file, pos.line, pos.column)
    where = ".".join(str(p) for p in path)
    message = error.message
    if isinstance(error.instance, int | float | str) and len(repr(error.instance)) > 40:
        message = message.replace(repr(error.instance), show(error.instance))
    if error.validator in ("minimum", "maximum") and _is_number(error.instance):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        bounds = f"a value from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
        message = f"{show(error.instance)} is out of range: expected {bounds}"
        if error.schema.get("description"):
            message += f" ({error.schema['description']})"
    elif error.validator == "enum":
        message = f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
        close = difflib.get_close_matches(
            str(error.instance), [str(v) for v in error.validator_value], n=1, cutoff=0.6
        )
        if close:
            message += f"; did you mean {close[0]!r}?"
    elif error.validator == "required":
        message = message.replace("is a required property", "is required")
    if where:
        message = f"{where}: {message}"
    pos = doc.value_position(path)
    raise InputError(message, doc.file, pos.line, pos.column)
