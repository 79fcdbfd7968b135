"""The JSON Schema of the topology format (version 1) and validation with good messages.

Validation reports the single best-matching error (no cascade of ``oneOf`` alternatives)
at the position of the offending element; unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from topolint.errors import InputError
from topolint.loader import Document

SOCKET_TYPES = [
    "push",
    "pull",
    "pub",
    "sub",
    "xpub",
    "xsub",
    "req",
    "rep",
    "dealer",
    "router",
    "pair",
]
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
_hwm: dict[str, Any] = {"type": "integer", "minimum": 0, "description": "messages; 0 = unlimited"}
_endpoints: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}


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
    "sndhwm": _hwm,
    "rcvhwm": _hwm,
    "sndbuf": _size,
    "rcvbuf": _size,
    "linger": {"type": ["number", "string"], "description": "duration, or -1 / 'infinite'"},
    "immediate": {"type": "boolean"},
    "conflate": {"type": "boolean"},
    "nodrop": {"type": "boolean"},
    "maxmsgsize": _size,
}

SOCKET = _obj(
    {
        "type": {"enum": SOCKET_TYPES},
        "bind": _endpoints,
        "connect": _endpoints,
        "sends": {"type": "string"},
        "receives": {"type": "string"},
        **SOCKET_OPTIONS,
        "subscribe": {"type": "array", "items": {"type": "string"}},
        "curve": {"enum": ["server", "client"]},
        "sync": {"enum": SYNC},
        "loss_tolerant": {"type": "boolean"},
        "carries": {"type": "array", "items": {"enum": ["end-of-data", "data"]}},
    },
    ["type"],
)

END_OF_DATA = {
    "oneOf": [
        {"enum": EOD_ACTIONS},
        _obj(
            {
                "action": {"enum": EOD_ACTIONS},
                "wait_for": {
                    "oneOf": [{"enum": ["all", "any"]}, {"type": "integer", "minimum": 1}]
                },
                "timeout": _duration,
            },
            ["action"],
        ),
    ]
}

JOIN = _obj(
    {
        "inputs": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "match": {"enum": ["key", "order", "any", "latest"]},
        "max_pending": {"type": "integer", "minimum": 0},
        "timeout": _duration,
        "on_timeout": {"enum": ["drop", "emit-partial"]},
    },
    ["match"],
)

PROCESS = _obj(
    {
        "owner": {"type": "string"},
        "host": {"type": "string"},
        "replicas": {"type": ["integer", "string"]},
        "memory_limit": _size,
        "rate": _rate,
        "count": _count,
        "service_time": _duration,
        "period": _duration,
        "phase": _duration,
        "filters": {"type": "boolean"},
        "lifecycle": {"enum": ["per-run", "persistent"]},
        "on_start": {"type": "array", "items": {"enum": ["drain"]}},
        "end_of_data": END_OF_DATA,
        "join": JOIN,
        "sockets": {"type": "object", "additionalProperties": SOCKET},
    }
)

MESSAGE = _obj(
    {
        "max_size": _size,
        "key": {"type": "string"},
        "encoding": {"enum": ENCODINGS},
        "version": {"type": ["integer", "string"]},
        "schema": {"type": ["object", "string", "boolean"]},
        "loss_tolerant": {"type": "boolean"},
        "description": {"type": "string"},
    }
)

_int3 = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 3, "maxItems": 3}

TOPOLOGY: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://topolint.readthedocs.io/schema/topology-1.json",
    "title": "topolint topology (format version 1)",
    **_obj(
        {
            "topolint": {"const": 1, "description": "format version"},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "environment": {"type": "string"},
            "runs": {"enum": ["finite", "continuous"]},
            "environments": {
                "type": "object",
                "additionalProperties": _obj(
                    {
                        "hosts": {"type": "array", "items": {"type": "string"}},
                        "networks": {"type": "array", "items": {"type": "string"}},
                    }
                ),
            },
            "defaults": _obj(SOCKET_OPTIONS),
            "kernel": _obj(
                {
                    "tcp_wmem": _int3,
                    "tcp_rmem": _int3,
                    "wmem_max": {"type": "integer", "minimum": 0},
                    "rmem_max": {"type": "integer", "minimum": 0},
                    "wmem_default": {"type": "integer", "minimum": 0},
                    "rmem_default": {"type": "integer", "minimum": 0},
                    "gso_max_size": {"type": "integer", "minimum": 0},
                }
            ),
            "messages": {"type": "object", "additionalProperties": MESSAGE},
            "processes": {"type": "object", "additionalProperties": PROCESS, "minProperties": 1},
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


def _allowed_keys(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def validate(doc: Document) -> None:
    """Raise :class:`InputError` for the best-matching schema violation, if any."""
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
    if error.validator == "enum":
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
