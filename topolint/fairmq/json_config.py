"""FairMQ JSON channel configurations (``{"fairMQOptions": ...}``), both layouts.

* The array layout: ``devices`` / ``channels`` / ``sockets`` lists.  A repeated key is an
  error here, as in any JSON or YAML topolint reads.
* The legacy layout FairMQ read until 2018: singular ``device`` / ``channel`` / ``socket``
  objects, each standing for one element and repeated inside its parent (boost
  property_tree keeps every repetition).  Files of that time also repeat comment keys
  (``"_______COMMENT:"``); repeated keys FairMQ does not read are ignored, a known key
  repeated with another value is an error.  Files may mix both layouts.

A JSON file is a catalogue: a device started with ``--id X --mq-config FILE`` reads only its
own entry, so the file does not say which devices run together.  Keys FairMQ ignores do not
fail, except near-misses of known keys (``adress``).  An identical duplicate device is
tolerated (FairMQ uses the first); a catalogue device with an empty socket type is left out
(a note says so) instead of rejecting the file.
"""

from __future__ import annotations

import difflib
from pathlib import PurePath
from typing import Any

from topolint.errors import InputError
from topolint.lint.findings import Path, Position
from topolint.lint.loader import Document, Duplicate, load_text

from .core import CHANNEL_FIELDS, SOCKET_FIELDS, Channel, Device, Fields, Launch, Val

DEVICE_FIELDS = ("id", "key", "channels", "channel")
#: Singular keys of the legacy layout, each repeated for several elements.
REPEATABLE = frozenset({"device", "channel", "socket"})
_KNOWN = frozenset({*DEVICE_FIELDS, *CHANNEL_FIELDS, "socket", "devices", "fairMQOptions"})


def is_fairmq(data: object) -> bool:
    """Is this loaded data a FairMQ channel configuration (a mapping with ``fairMQOptions``)?"""
    return isinstance(data, dict) and "fairMQOptions" in data


def load(text: str, file: str) -> Document:
    """Parse FairMQ JSON text, keeping repeated legacy keys (positions of every element)."""
    duplicates: list[Duplicate] = []
    doc = load_text(text, file, "json", repeatable=REPEATABLE, duplicates=duplicates)
    legacy = _is_legacy(doc.data)
    for d in duplicates:
        key = str(d.path[-1])
        first = doc.key_pos.get(d.path) or doc.position(d.path)
        if not legacy:
            raise InputError(
                f"duplicate key {key!r} (first defined at line {first.line})",
                file,
                d.position.line,
                d.position.column,
            )
        if key in _KNOWN and _value_at(doc.data, d.path) != d.value:
            raise InputError(
                f"key {key!r} repeated with another value (first defined at line {first.line}); "
                "FairMQ reads only the first",
                file,
                d.position.line,
                d.position.column,
            )
    return doc


def _value_at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _is_legacy(data: Any) -> bool:
    """Does the document use any singular key of the legacy layout?"""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if REPEATABLE & node.keys():
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class _Reader:
    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def vpos(self, path: Path) -> Position:
        return self.doc.value_position(path)

    def kpos(self, path: Path) -> Position:
        return self.doc.position(path)

    def err(self, path: Path, message: str, *, key: bool = False) -> InputError:
        pos = self.kpos(path) if key else self.vpos(path)
        return InputError(message, self.doc.file, pos.line, pos.column)

    def val(self, path: Path, value: Any) -> Val:
        return Val(value, self.vpos(path), self.kpos(path))

    def check_keys(
        self, obj: dict[str, Any], path: Path, known: tuple[str, ...], what: str
    ) -> None:
        for k in obj:
            if k in known:
                continue
            close = difflib.get_close_matches(k, known, n=1, cutoff=0.8)
            if close and close[0] not in obj:
                raise self.err(
                    (*path, k),
                    f"unknown FairMQ {what} key {k!r}; did you mean {close[0]!r}?",
                    key=True,
                )

    def items(
        self, obj: dict[str, Any], path: Path, plural: str, singular: str
    ) -> list[tuple[Path, Any]]:
        """Elements of a ``plural`` list and of repeated ``singular`` keys, in file order."""
        out: list[tuple[Path, Any]] = []
        if plural in obj:
            value = obj[plural]
            if not isinstance(value, list):
                raise self.err((*path, plural), f"{plural}: expected a list")
            out.extend(((*path, plural, i), v) for i, v in enumerate(value))
        if singular in obj:
            out.extend(((*path, singular, i), v) for i, v in enumerate(obj[singular]))
        out.sort(key=lambda item: (self.vpos(item[0]).line, self.vpos(item[0]).column))
        return out

    def run(self) -> Launch:
        data = self.doc.data
        root: Path = ("fairMQOptions",)
        opts = data["fairMQOptions"]
        if not isinstance(opts, dict):
            raise self.err(root, "fairMQOptions: expected a mapping with a 'devices' list")
        self.check_keys(opts, root, ("devices", "device"), "option")
        entries = self.items(opts, root, "devices", "device")
        if not entries:
            raise self.err(
                root, "fairMQOptions has no devices: expected a 'devices' list", key=True
            )
        devices: list[Device] = []
        first: dict[str, tuple[Path, Any]] = {}
        notes: list[str] = []
        for path, dev in entries:
            d = self.device(path, dev, first, notes)
            if d is not None:
                devices.append(d)
        name = PurePath(self.doc.file).name
        for suffix in (".in", ".json"):
            name = name.removesuffix(suffix)
        return Launch(
            file=self.doc.file,
            text=self.doc.text,
            form="json",
            name=name or "fairmq",
            devices=devices,
            catalogue=True,
            suppressions=self.doc.suppressions,
            notes=notes,
        )

    def device(
        self, path: Path, dev: Any, first: dict[str, tuple[Path, Any]], notes: list[str]
    ) -> Device | None:
        if not isinstance(dev, dict):
            raise self.err(path, "device: expected a mapping with 'id' (or 'key') and 'channels'")
        self.check_keys(dev, path, DEVICE_FIELDS, "device")
        which = "key" if "key" in dev else "id"
        if which not in dev:
            raise self.err(
                path, "device without 'id' or 'key': FairMQ picks devices by key, else by id"
            )
        value = dev[which]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise self.err((*path, which), f"device {which}: expected a non-empty string")
        fmq_name = str(value)
        if fmq_name in first:
            first_path, first_dev = first[fmq_name]
            line = self.vpos(first_path).line
            if first_dev == dev:
                notes.append(
                    f"device {fmq_name!r} at line {self.vpos(path).line} repeats line {line}"
                )
                return None
            raise self.err(
                (*path, which),
                f"duplicate device {which} {fmq_name!r} (first defined at line {line})",
            )
        first[fmq_name] = (path, dev)
        meta: dict[str, Any] = {k: str(dev[k]) for k in ("id", "key") if k in dev}
        d = Device(name=fmq_name, pos=self.vpos((*path, which)), meta=meta)
        seen: set[str] = set()
        for cpath, ch in self.items(dev, path, "channels", "channel"):
            c = self.channel(cpath, ch)
            if c.name in seen:
                raise self.err(
                    (*cpath, "name"), f"duplicate channel {c.name!r} in device {fmq_name!r}"
                )
            seen.add(c.name)
            d.channels.append(c)
        return d

    def channel(self, path: Path, ch: Any) -> Channel:
        if not isinstance(ch, dict):
            raise self.err(path, "channel: expected a mapping with at least 'name'")
        self.check_keys(ch, path, (*CHANNEL_FIELDS, "socket"), "channel")
        if "name" not in ch:
            raise self.err(path, "channel without 'name'")
        name = ch["name"]
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            raise self.err((*path, "name"), f"channel name: expected a string, got {name!r}")
        fields: Fields = {
            k: self.val((*path, k), ch[k])
            for k in CHANNEL_FIELDS
            if k in ch and k not in ("name", "sockets")
        }
        subs: list[tuple[Position, Fields]] = []
        for spath, sub in self.items(ch, path, "sockets", "socket"):
            if not isinstance(sub, dict):
                raise self.err(spath, "socket entry: expected a mapping")
            self.check_keys(sub, spath, SOCKET_FIELDS, "socket")
            subs.append(
                (
                    self.vpos(spath),
                    {k: self.val((*spath, k), sub[k]) for k in SOCKET_FIELDS if k in sub},
                )
            )
        return Channel(name=str(name), pos=self.vpos((*path, "name")), fields=fields, subs=subs)


def read(doc: Document) -> Launch:
    """The devices of a loaded FairMQ JSON document."""
    if not is_fairmq(doc.data):
        raise InputError(
            "not a FairMQ configuration: expected a 'fairMQOptions' key", doc.file, 1, 1
        )
    return _Reader(doc).run()
