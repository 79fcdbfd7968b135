"""Native topologies as human-friendly YAML (``topolint import``)."""

from __future__ import annotations

from typing import Any

import yaml

_HEADER = """\
# Imported from {source} ({form}) by `topolint import`.
# FairMQ does not say message types and sizes, owners, rates, service times or
# end-of-data behaviour: add them (sends/receives, messages, owner, rate, service_time,
# end_of_data) to let every rule and the memory bound work.
"""


try:  # libyaml's emitter is several times faster
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    """Block style, but lists of scalars on one line (``subscribe: ['']``)."""


def _represent_list(dumper: Any, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(x, (str, int, float, bool)) or x is None for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def to_yaml(native: dict[str, Any]) -> str:
    """The native topology as human-friendly YAML (block style, keys in the given order)."""
    body = yaml.dump(
        native,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
    meta = native.get("x-fairmq")
    if not isinstance(meta, dict) or meta.get("source") is None:
        return body
    source = meta["source"]
    form = {"json": "FairMQ JSON", "cmdline": "command lines", "dds": "DDS topology"}.get(
        str(meta.get("form")), "FairMQ"
    )
    return _HEADER.format(source=" ".join(str(source).split()), form=form) + body
