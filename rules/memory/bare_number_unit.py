"""A duration or rate given as a bare number, whose unit is assumed.

## What it finds
A `service_time`, `period`, `phase`, `timeout` or `linger` written as a plain number
(`service_time: 3`), which topolint takes in seconds, and a `rate` written as a plain
number (`rate: 1000`), taken per second. Zero is zero in any unit and is not reported.
Sizes (`max_size`, `sndbuf`, `memory_limit`…) are not reported: a bare size is bytes, as
documented, and libzmq counts bytes too.

## Why it matters
Nothing in the file says which unit the author meant: `service_time: 3` was most likely
3 ms, read as 3 s it makes the stage a thousand times slower, and every throughput,
latency and queue bound built on it is off by as much. `linger: 1000` is 1000 ms to
libzmq (`ZMQ_LINGER`) but 1000 s here. A unit written out cannot be misread.

## Example
```yaml
processes:
  worker:
    service_time: 3        # 3 s? 3 ms?
    sockets:
      in: {type: pull, connect: camera.out}
```

## Fix
Write the unit: `service_time: 3ms` (or `3s`), `rate: 1000/s`, `linger: 500ms`.
"""

from collections.abc import Iterator
from typing import Any

from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path

NAME = "bare-number-unit"
CODE = "TL308"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    data = ctx.topology.document.data
    for path, unit in sorted(ctx.topology.bare_numbers.items(), key=lambda kv: str(kv[0])):
        key = str(path[-1])
        value = _value(data, path)
        n = str(value).strip() if isinstance(value, int | float | str) else "N"
        if unit == "/s":
            message = f"{key}: {n} is a bare number, taken as {n} messages per second"
            fix = f"write the unit: {key}: {n}/s (or {n}/ms, {n}/min)"
        else:
            message = f"{key}: {n} is a bare number, taken as {n} seconds"
            fix = f"write the unit: {key}: {n}ms if milliseconds are meant, {n}s if seconds"
        yield Fact(message, path=path, subject=(".".join(map(str, path)),), fix=fix)


def _value(data: Any, path: Path) -> Any:
    """The value written at ``path`` in the document (``None`` if it cannot be found)."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
