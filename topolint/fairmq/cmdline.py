"""FairMQ device command lines: ``--channel-config`` wherever it appears.

Shell scripts (``.sh``, CMake ``.sh.in`` templates), DDS ``<exe>`` elements and plain text
are read the same way.  Nothing is ever executed: the text is split into words by a small
shell-like tokenizer (quotes, backslash escapes and ``\\``-continuations, ``#`` comments,
``;`` ``&`` ``|`` and newlines between commands; ``$(…)``, ``$((…))`` and ``${…}`` kept
verbatim inside a word) and every command that carries ``--channel-config`` or
``--mq-config`` is one device launch:

``EXE --id ID [--transport T] [-P dds|odc] --channel-config name=N,type=T,method=M,
address=A[,address=A2],transport=T,sndBufSize=…,rcvBufSize=…,sndKernelSize=…,
rcvKernelSize=…,linger=…,rateLogging=…,numSockets=…,autoBind=… [more channels]``

The option takes several values and may be repeated; ``N:type=…`` also names a channel.
Each ``address=`` adds one sub-socket.  ``--mq-config FILE`` (with ``--id`` or
``--config-key``) reads the device's channels from a FairMQ JSON catalogue instead, when the
file can be read (see :func:`read`).  Scripts that build a command piece by piece
(``X="exe"``; ``X+=" --id a"``) are followed through the assignments to one variable.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from pathlib import PurePath

from topolint.errors import InputError, NoDevices
from topolint.lint.findings import Position

from .core import CHANNEL_FIELDS, Channel, Device, Fields, Launch, Val, has_placeholder, substitute

#: Keys of one ``--channel-config`` value (SuboptParser.cxx).
CHANNEL_KEYS = tuple(k for k in CHANNEL_FIELDS if k != "sockets")
_END = frozenset(";&|\n")
#: Words before the executable that are shell syntax or wrappers, not the device.
_SHELL_WORDS = frozenset(
    {
        "do",
        "then",
        "else",
        "elif",
        "time",
        "exec",
        "nohup",
        "env",
        "command",
        "xterm",
        "-e",
        "{",
        "(",
    }
)
_PLUGIN_ADDRESSES = ("dds", "odc")
#: A command carrying one of these is a device launch (``--id`` alone: a device whose
#: channels come from options the text does not show, e.g. ``${CHANNEL[DATA]}``).
_LAUNCH_OPTIONS = ("--channel-config", "--mq-config", "--config-json", "--id")


@dataclass
class Word:
    """One shell word after quote removal, with the offset of its first character."""

    text: str
    start: int
    offsets: list[int] = field(default_factory=list)  # source offset of each character

    def at(self, i: int) -> int:
        """Source offset of the word's ``i``-th character (its start when past the end)."""
        return self.offsets[i] if i < len(self.offsets) else self.start


class _Tokenizer:
    """The state of :func:`split_commands`: the commands so far, the words of the current
    command and the characters (with their offsets) of the current word."""

    def __init__(self, text: str, end: int) -> None:
        self.text = text
        self.end = end
        self.commands: list[list[Word]] = []
        self.words: list[Word] = []
        self.chars: list[str] = []
        self.offs: list[int] = []

    def take(self, i: int) -> None:
        self.chars.append(self.text[i])
        self.offs.append(i)

    def flush(self) -> None:
        """End the current word."""
        if self.chars:
            self.words.append(Word("".join(self.chars), self.offs[0], list(self.offs)))
            self.chars.clear()
            self.offs.clear()

    def finish(self) -> None:
        """End the current command."""
        self.flush()
        if self.words:
            self.commands.append(list(self.words))
            self.words.clear()

    def escape(self, i: int) -> int:
        """A backslash at ``i``: a line continuation, or the next character taken as is."""
        text = self.text
        if text[i + 1] == "\n":
            return i + 2
        if text[i + 1] == "\r" and i + 2 < self.end and text[i + 2] == "\n":
            return i + 3
        self.take(i + 1)
        return i + 2

    def quoted(self, i: int) -> int:
        """A quoted string starting at ``i``: its characters join the word, quotes removed
        (inside double quotes a backslash escapes ``"`` ``\\`` ``$`` and backtick)."""
        text, q = self.text, self.text[i]
        close = i + 1
        while close < self.end and text[close] != q:
            close += 2 if q == '"' and text[close] == "\\" else 1
        close = min(close, self.end)
        j = i + 1
        while j < close:
            if q == '"' and text[j] == "\\" and j + 1 < close and text[j + 1] in '"\\$`':
                j += 1
            self.take(j)
            j += 1
        return close + 1

    def substitution(self, i: int) -> int:
        """``$(…)``, ``$((…))`` or ``${…}`` at ``i``, kept verbatim in the word (to the
        matching bracket, or the end of the line)."""
        text = self.text
        opening = text[i + 1]
        closing = ")" if opening == "(" else "}"
        depth, j = 0, i + 1
        while j < self.end:
            if text[j] == opening:
                depth += 1
            elif text[j] == closing:
                depth -= 1
                if depth == 0:
                    break
            elif text[j] == "\n":
                break
            j += 1
        j = min(j, self.end - 1)
        for k in range(i, j + 1):
            self.take(k)
        return j + 1

    def step(self, i: int) -> int:
        """Consume what starts at ``i``; return where the next step starts."""
        c, text, end = self.text[i], self.text, self.end
        if c == "\\" and i + 1 < end:
            return self.escape(i)
        if c == "\x00":  # padding left by an unescaped XML character reference
            return i + 1
        if c in " \t\r":
            self.flush()
            return i + 1
        if c in _END:
            self.finish()
            return i + 1
        if c == "#" and not self.chars:  # a comment, to the end of the line
            nl = text.find("\n", i, end)
            return end if nl < 0 else nl
        if c in "'\"":
            return self.quoted(i)
        if c == "$" and i + 1 < end and text[i + 1] in "({":
            return self.substitution(i)
        self.take(i)
        return i + 1


def split_commands(text: str, start: int = 0, end: int | None = None) -> list[list[Word]]:
    r"""Split shell-like ``text[start:end]`` into commands of words (nothing is expanded).

    Examples
    --------
    >>> [[w.text for w in c] for c in split_commands("a --id 'x y' \\\n  b; c # d")]
    [['a', '--id', 'x y', 'b'], ['c']]
    """
    tok = _Tokenizer(text, len(text) if end is None else end)
    i = start
    while i < tok.end:
        i = tok.step(i)
    tok.finish()
    return tok.commands


def is_cmdline(text: str) -> bool:
    """Does this text hold FairMQ device command lines?"""
    return "--channel-config" in text or ("--mq-config" in text and "--id" in text)


class Lines:
    """Offsets to 1-based positions."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        pos = text.find("\n")
        while pos >= 0:
            self.starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def pos(self, offset: int) -> Position:
        """The 1-based line and column of ``offset``."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return Position(line + 1, offset - self.starts[line] + 1)


@dataclass
class _Pending:
    """A device being collected from one command (or one variable's pieces)."""

    words: list[Word]


def _expand_pieces(word: Word) -> list[Word]:
    """Split a word holding spaces (a quoted piece like ``" --id a"``) into words."""
    if " " not in word.text and "\t" not in word.text:
        return [word]
    out: list[Word] = []
    i, n = 0, len(word.text)
    while i < n:
        while i < n and word.text[i] in " \t":
            i += 1
        j = i
        while j < n and word.text[j] not in " \t":
            j += 1
        if j > i:
            out.append(Word(word.text[i:j], word.at(i), word.offsets[i:j]))
        i = j
    return out


def launches(commands: list[list[Word]]) -> list[list[Word]]:
    """The device launches among ``commands``: words of each launch, assignments followed."""
    out: list[list[Word]] = []
    by_var: dict[str, list[Word]] = {}
    for words in commands:
        head = words[0].text
        name, op, _ = head.partition("+=") if "+=" in head.split("=", 1)[0] + "=" else ("", "", "")
        if not op:
            name, op, _ = head.partition("=")
        if op and name.isidentifier() and len(words) >= 1:
            value = Word(
                head[len(name) + len(op) :],
                words[0].at(len(name) + len(op)),
                words[0].offsets[len(name) + len(op) :],
            )
            pieces = [w for x in [value, *words[1:]] for w in _expand_pieces(x)]
            if op == "=" or name not in by_var:
                by_var[name] = []
                out.append(by_var[name])
            by_var[name].extend(pieces)
            continue
        out.append([w for x in words for w in _expand_pieces(x)])
    return [ws for ws in out if any(w.text.startswith(_LAUNCH_OPTIONS) for w in ws)]


@dataclass
class _Options:
    """What one launch says about its device (words as written, positions kept)."""

    exe: Word | None = None
    ident: Word | None = None
    key: Word | None = None
    mq: Word | None = None
    transport: Word | None = None
    plugins: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # bare $WORDs that may carry options
    channels: list[tuple[Word, int]] = field(default_factory=list)  # (word, value offset)


#: Options with one value that the reader keeps (``-P`` is ``--plugin``).
_VALUED = ("--id", "--config-key", "--mq-config", "--config-json", "--transport", "--plugin")


def _scan(words: list[Word], variables: Mapping[str, str]) -> _Options:
    """The options of one launch: ``--opt value`` or ``--opt=value``; ``--channel-config``
    takes every following word up to the next option."""
    o = _Options()
    i = 0
    while i < len(words):
        w, t = words[i], words[i].text
        opt, eq, inline = t.partition("=") if t.startswith("--") else (t, "", "")
        if opt == "--channel-config":
            if eq:
                o.channels.append((w, len(opt) + 1))
            i += 1
            while i < len(words) and not words[i].text.startswith("-"):
                o.channels.append((words[i], 0))
                i += 1
            continue
        if opt in _VALUED or t == "-P":
            nxt = words[i + 1] if i + 1 < len(words) else None
            value = Word(inline, w.at(len(opt) + 1), w.offsets[len(opt) + 1 :]) if eq else nxt
            if value is not None:
                _keep(o, "--plugin" if t == "-P" else opt, value, variables)
            i += 1 if eq else 2
            continue
        if o.exe is None and not t.startswith("-") and "=" not in t and t not in _SHELL_WORDS:
            o.exe = w
        elif t.startswith("$") and o.exe is not None and not words[i - 1].text.startswith("-"):
            o.unknown.append(t)
        i += 1
    return o


def _keep(o: _Options, opt: str, value: Word, variables: Mapping[str, str]) -> None:
    if opt == "--id":
        o.ident = value
    elif opt == "--config-key":
        o.key = value
    elif opt in ("--mq-config", "--config-json"):
        o.mq = value
    elif opt == "--transport":
        o.transport = value
    else:
        o.plugins.extend(substitute(value.text, variables).lower().split(","))


class _Parser:
    def __init__(
        self,
        text: str,
        file: str,
        variables: Mapping[str, str],
        catalogue: Callable[[str, Position], object] | None,
    ) -> None:
        self.text = text
        self.file = file
        self.variables = variables
        self.lines = Lines(text)
        self.catalogue = catalogue

    def pos(self, offset: int) -> Position:
        return self.lines.pos(offset)

    def err(self, offset: int, message: str) -> InputError:
        p = self.pos(offset)
        return InputError(message, self.file, p.line, p.column)

    def device(self, words: list[Word], index: int) -> Device:
        """The device one launch starts (``index``: its place in the file, for a name when
        the command gives no ``--id``)."""
        o = _scan(words, self.variables)
        name_word = o.ident or o.key
        name = substitute(name_word.text, self.variables) if name_word else ""
        if not name:
            base = PurePath(substitute(o.exe.text, self.variables)).name if o.exe else ""
            name = f"{base or 'device'}-{index + 1}"
        pos = self.pos(name_word.start if name_word else words[0].start)
        runtime = [p for p in o.plugins if p in _PLUGIN_ADDRESSES]
        meta: dict[str, object] = {"id": name}
        if o.exe is not None:
            meta["executable"] = o.exe.text
        if o.key is not None:
            meta["config-key"] = o.key.text
        if runtime:
            meta["plugin"] = ",".join(runtime)
        if o.unknown:
            meta["unknown-options"] = " ".join(o.unknown)
        dev = Device(name=name, pos=pos, runtime_addresses=bool(runtime), meta=meta)
        if o.transport is not None:
            at = self.pos(o.transport.start)
            dev.transport = Val(o.transport.text, at, at)
        if o.mq is not None and self.from_catalogue(dev, o.mq, o.key):
            return dev
        if o.mq is not None and not o.channels:
            return dev
        dev.channels = [self.channel(w, off) for w, off in o.channels]
        return dev

    def from_catalogue(self, dev: Device, mq: Word, key: Word | None) -> bool:
        """Take the device's channels from its ``--mq-config`` catalogue entry when the file
        can be read (current FairMQ prefers it to ``--channel-config``); else say why."""
        dev.meta["mq-config"] = mq.text
        if self.catalogue is None:
            return False
        found = self.catalogue(substitute(mq.text, self.variables), self.pos(mq.start))
        if isinstance(found, list):
            _take_entry(dev, found, str(key.text if key else dev.name), mq.text)
            return True
        if isinstance(found, str):
            dev.meta["channels"] = found
        return False

    def channel(self, w: Word, off: int) -> Channel:
        text = w.text[off:]
        fields: Fields = {}
        addresses: list[Val] = []
        name: str | None = None
        name_pos = self.pos(w.at(off))
        pieces: list[tuple[int, str]] = []
        start = 0
        for part in text.split(","):
            pieces.append((start, part))
            start += len(part) + 1
        first_key = pieces[0][1].partition("=")[0]
        if ":" in first_key and first_key.split(":", 1)[0]:  # name:type=push,...
            prefix, _, rest = pieces[0][1].partition(":")
            name = prefix
            pieces[0] = (len(prefix) + 1, rest)
        for rel, part in pieces:
            if not part:
                continue
            k, eq, v = part.partition("=")
            kpos = self.pos(w.at(off + rel))
            vpos = self.pos(w.at(off + rel + len(k) + 1)) if eq else kpos
            if not eq:
                raise InputError(
                    f"--channel-config: expected key=value, got {part!r}",
                    self.file,
                    kpos.line,
                    kpos.column,
                )
            if k == "name":
                name, name_pos = v, vpos
            elif k == "address":
                addresses.append(Val(v, vpos, kpos))
            elif k in CHANNEL_KEYS:
                fields[k] = Val(v, vpos, kpos)
            else:
                close = difflib.get_close_matches(k, CHANNEL_KEYS, n=1, cutoff=0.8)
                if close:
                    raise InputError(
                        f"unknown --channel-config key {k!r}; did you mean {close[0]!r}?",
                        self.file,
                        kpos.line,
                        kpos.column,
                    )
        if name is None:
            raise InputError(
                "--channel-config value without name=: expected name=NAME,type=…",
                self.file,
                name_pos.line,
                name_pos.column,
            )
        ch = Channel(name=name, pos=name_pos, fields=fields)
        if len(addresses) == 1:
            fields["address"] = addresses[0]
        elif addresses:
            ch.subs = [(a.key, {"address": a}) for a in addresses]
        return ch


def _display_name(file: str) -> str:
    name = PurePath(file).name
    for suffix in (".txt", ".in", ".sh"):
        name = name.removesuffix(suffix)
    return name or "launch"


def read(
    text: str,
    file: str,
    variables: Mapping[str, str] | None = None,
    *,
    base: FsPath | None = None,
    span: tuple[int, int] | None = None,
) -> Launch:
    """The device launches in ``text`` (a script, a document, or one span of it).

    ``--mq-config FILE`` is read when FILE (after ``variables``) is a regular JSON file in
    ``base``'s folder tree or the working directory's; otherwise the device's channels are
    unknown and its note says why.
    """
    variables = variables or {}
    catalogues: dict[str, object] = {}

    def catalogue(path: str, at: Position) -> object:
        if path in catalogues:
            return catalogues[path]
        catalogues[path] = result = _read_catalogue(path, at, base, variables)
        return result

    parser = _Parser(text, file, variables, catalogue)
    start, end = span if span is not None else (0, len(text))
    devices = [
        parser.device(words, i)
        for i, words in enumerate(launches(split_commands(text, start, end)))
    ]
    if not devices:
        raise NoDevices(
            "no FairMQ device command line (--channel-config, or --mq-config with --id)", file, 1, 1
        )
    return Launch(
        file=file,
        text=text,
        form="cmdline",
        name=_display_name(file),
        devices=devices,
        catalogue=False,
    )


def _read_catalogue(
    path: str, at: Position, base: FsPath | None, variables: Mapping[str, str]
) -> object:
    """A FairMQ JSON catalogue's devices, or a note saying why it was not read."""
    if has_placeholder(path):
        return f"in {path}: not read (unresolved placeholder; pass --var)"
    from topolint.lint.loader import read_text

    from . import json_config

    folder = base.parent if base is not None else FsPath.cwd()
    target = (folder / path).resolve() if not os.path.isabs(path) else FsPath(path).resolve()
    roots = [folder.resolve(), FsPath.cwd().resolve()]
    if not any(target.is_relative_to(r) for r in roots):
        return f"in {path}: not read (outside the launch's folder and the working directory)"
    try:
        text = read_text(target, path)
        doc = json_config.load(text, path)
        return json_config.read(doc).devices
    except InputError as e:
        return f"in {path}: not read ({e.message})"


def _take_entry(dev: Device, catalogue: list[Device], want: str, source: str) -> None:
    """The device takes its own catalogue entry's channels (positions: the ``--mq-config``
    word, since the native document points into one file)."""
    entry = next((d for d in catalogue if d.name == want), None)
    if entry is None:
        dev.meta["channels"] = f"no entry {want!r} in {source}"
        return

    def moved(fields: Fields) -> Fields:
        return {k: Val(v.value, dev.pos, dev.pos) for k, v in fields.items()}

    dev.channels = [
        Channel(c.name, dev.pos, moved(c.fields), [(dev.pos, moved(s)) for _, s in c.subs])
        for c in entry.channels
    ]
    dev.meta["channels"] = f"from {source} (entry {want!r})"
