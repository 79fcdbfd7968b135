"""FairMQ and DDS topologies, read into the native model with positions kept.

Three forms, detected by content (:func:`detect`):

* ``json``: FairMQ JSON channel configurations, array and legacy layouts
  (:mod:`.json_config`) — a catalogue of devices;
* ``cmdline``: device command lines with ``--channel-config`` / ``--mq-config`` in shell
  scripts, templates or plain text (:mod:`.cmdline`) — a launch;
* ``dds``: DDS topology XML (:mod:`.dds`) — a launch with multiplicity.

Each reader yields a :class:`~.core.Launch`; :func:`~.core.to_document` maps it onto a
native document (:mod:`.core` has the mapping), which the rest of topolint checks like any
other topology.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path as FsPath

from topolint.errors import InputError
from topolint.lint.loader import Document

from . import cmdline, dds, json_config
from .core import Launch, to_document
from .json_config import is_fairmq
from .native_yaml import to_yaml

FORMS = ("json", "cmdline", "dds")

__all__ = ["FORMS", "Launch", "detect", "is_fairmq", "read", "to_document", "to_native", "to_yaml"]


def detect(text: str) -> str | None:
    """Which FairMQ form ``text`` holds: ``json``, ``dds``, ``cmdline``, or None."""
    head = text.lstrip("\ufeff \t\r\n")[:1]
    if head == "{" and "fairMQOptions" in text:
        return "json"
    if head == "<":
        return (
            "dds" if "<topology" in text or "fairMQOptions" in text or "<decltask" in text else None
        )
    if head not in ("{", "[") and cmdline.is_cmdline(text):
        return "cmdline"
    return None


def read(
    text: str,
    file: str,
    form: str,
    variables: Mapping[str, str] | None = None,
    *,
    base: FsPath | None = None,
) -> Document:
    """Read ``text`` of the given form into a native document (positions into ``text``)."""
    variables = variables or {}
    if form == "json":
        launch = json_config.read(json_config.load(text, file))
    elif form == "cmdline":
        launch = cmdline.read(text, file, variables, base=base)
    elif form == "dds":
        launch = dds.read(text, file, variables, base=base)
    else:
        raise InputError(f"unknown FairMQ form {form!r}: expected one of {', '.join(FORMS)}", file)
    return to_document(launch, variables)


def to_native(doc: Document, variables: Mapping[str, str] | None = None) -> Document:
    """Map a loaded FairMQ JSON document onto a native topology document."""
    return to_document(json_config.read(doc), variables)
