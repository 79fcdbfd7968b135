"""The producer's message schema does not satisfy what the consumer requires.

## What it finds
On every connection where the sending socket declares `sends: P` and the receiving socket
`receives: C` with P ≠ C:
- both types have a `schema`: every message valid under P's schema must be valid under
  C's — required fields present, types compatible (`integer` fits `number`, not the
  reverse), no enum value the consumer does not accept, `additionalProperties: false`
  respected, nested objects and arrays checked recursively, local `$ref`s followed (see
  `topolint/analysis/contracts/`). One finding per incompatible field.
- a type lacks a schema: the names differ and nothing shows they agree — a plain type-name
  mismatch.
- both types declare an `encoding` and the encodings differ.

A schema may be a file path relative to the topology file's folder (JSON or YAML). It is
read only inside that folder's tree and never fetched from the network. A schema file
that cannot be used (absolute path, URL, outside the folder, missing, unreadable, invalid)
is reported by this rule at the message's `schema:` key — a finding rather than an input
error, so the rest of the file is still checked; the edges carrying that type are then
not compared. Option `report-unverifiable` (default `false`): also report what cannot be
verified statically (non-local `$ref`, a consumer `pattern`/`format` the producer does not
declare).

## Why it matters
The talk's problem 6: Tom's process feeds Sally's, and each evolves its side. When the
producer drops a field the consumer requires, or starts sending a value the consumer's enum
does not know, nothing fails at connect time — ZeroMQ moves bytes — and the consumer
breaks at run time, in production, on the first such message.

## Example
```yaml
messages:
  hits:  {schema: {type: object, properties: {energy: {type: number}}}}
  calib: {schema: {type: object, required: [energy], properties: {energy: {type: number}}}}
processes:
  hitfinder: {sockets: {out: {type: push, bind: "tcp://*:7000", sends: hits}}}
  calibrator:
    sockets: {in: {type: pull, connect: hitfinder.out, receives: calib}}
```

## Fix
Make the producer guarantee what the consumer requires (add the field to `required`,
narrow the type or enum), or relax the consumer's schema if it does not really need it.
When both sides mean the same message, use one type name on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from topolint.analysis.contracts import UNCERTAIN_KINDS, Incompatibility, incompatibilities
from topolint.analysis.contracts.schemas import Schema, Schemas, canonical, field_of
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.model import Topology

NAME = "contract-mismatch"
CODE = "TL703"
SEVERITY = "error"
OPTIONS = {"report-unverifiable": False}

#: Findings per pair of types; more are summarised in the last one.
MAX_PER_PAIR = 10


class _Edge(NamedTuple):
    """Where the facts about one sender socket and one receiver socket point."""

    text: str  # "a.out sends A to b.in, which receives B"
    receiver: str  # the receiving socket's id
    where: Path  # the receiver's ``receives``
    subject: tuple[str, ...]
    related: tuple[Path, ...]  # the sender's ``sends``


class _PairIssues:
    """The incompatibilities of each pair of message types, computed once per pair."""

    def __init__(self, uncertain: bool) -> None:
        self.uncertain = uncertain  # report the kinds that cannot be verified too
        self.cache: dict[tuple[str, str], list[Incompatibility]] = {}

    def of(self, p: str, q: str, sp: Schema, sq: Schema) -> list[Incompatibility]:
        """What schema ``sp`` of ``p`` does not guarantee that schema ``sq`` of ``q`` asks."""
        found = self.cache.get((p, q))
        if found is None:
            found = self.cache[(p, q)] = [
                i
                for i in incompatibilities(sp, sq)
                if self.uncertain or i.kind not in UNCERTAIN_KINDS
            ]
        return found


def check(ctx: Context) -> Iterator[Fact]:
    """Unreadable schemas, then every sender/receiver socket pair whose declared message
    types differ and are not shown to agree (encodings, schemas, field by field)."""
    topo = ctx.topology
    schemas = Schemas(topo)
    pairs = _PairIssues(bool(ctx.option("report-unverifiable", False)))
    yield from _unreadable_schemas(topo, schemas)
    seen: set[tuple[str, str]] = set()
    for c in ctx.wiring.connections:
        if c.unresolved or c.mismatch or c.control:
            continue
        ss, rs = c.sender_socket, c.receiver_socket
        assert ss is not None and rs is not None
        p, q = ss.sends, rs.receives
        if not p or not q or p == q or (ss.id, rs.id) in seen:
            continue
        seen.add((ss.id, rs.id))
        edge = _Edge(
            f"{ss.id} sends {p} to {rs.id}, which receives {q}",
            rs.id,
            (*rs.path, "receives"),
            (ss.id, rs.id),
            ((*ss.path, "sends"),),
        )
        yield from _pair_facts(topo, schemas, pairs, edge, p, q)


def _unreadable_schemas(topo: Topology, schemas: Schemas) -> Iterator[Fact]:
    """One fact per message type whose schema cannot be loaded."""
    for name in topo.messages:
        loaded = schemas.get(name)
        if loaded is not None and loaded.error:
            yield Fact(
                f"message type {name}: {loaded.error}; edges carrying {name} are not checked",
                path=loaded.path,
                subject=(f"messages.{name}",),
            )


def _pair_facts(
    topo: Topology, schemas: Schemas, pairs: _PairIssues, edge: _Edge, p: str, q: str
) -> Iterator[Fact]:
    """Facts about ``edge``, which sends type ``p`` to a socket receiving type ``q``."""
    mp, mq = topo.messages.get(p), topo.messages.get(q)
    if mp and mq and mp.encoding and mq.encoding and mp.encoding != mq.encoding:
        yield Fact(
            f"{edge.text}: {p} is encoded {mp.encoding} but {edge.receiver} decodes {q} as "
            f"{mq.encoding}",
            path=edge.where,
            subject=edge.subject,
            related=(*edge.related, (*mp.path, "encoding"), (*mq.path, "encoding")),
            fix=f"use one encoding for {p} and {q}",
        )
    lp, lq = schemas.get(p), schemas.get(q)
    if (lp and lp.error) or (lq and lq.error):
        return  # reported at the schema key
    sp = lp.schema if lp else None
    sq = lq.schema if lq else None
    if sp is None or sq is None:
        missing = [t for t, s in ((p, sp), (q, sq)) if s is None]
        yield Fact(
            f"{edge.text}: the type names differ and {' and '.join(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} no schema to show they agree",
            path=edge.where,
            subject=edge.subject,
            related=edge.related,
            fix=f"send and receive the same type, or give {' and '.join(missing)} a schema",
        )
        return
    if canonical(sp) == canonical(sq):
        return
    issues = pairs.of(p, q, sp, sq)
    for i, inc in enumerate(issues[:MAX_PER_PAIR]):
        more = len(issues) - MAX_PER_PAIR
        tail = f" (and {more} more)" if i == MAX_PER_PAIR - 1 and more > 0 else ""
        verify = " (cannot be verified)" if inc.kind in UNCERTAIN_KINDS else ""
        yield Fact(
            f"{edge.text}: field {field_of(inc.pointer)}{verify}: {inc.reason}{tail}",
            path=edge.where,
            subject=(*edge.subject, inc.pointer),
            related=(*edge.related, ("messages", p, "schema"), ("messages", q, "schema")),
            data={"pointer": inc.pointer, "kind": inc.kind},
            fix=f"make {p}'s schema guarantee what {q} requires at {inc.pointer}",
        )
