"""The producer's message schema does not satisfy what the consumer requires.

## What it finds
On every connection where the sending socket declares `sends: P` and the receiving socket
`receives: C` with P ≠ C:
- both types have a `schema`: every message valid under P's schema must be valid under
  C's — required fields present, types compatible (`integer` fits `number`, not the
  reverse), no enum value the consumer does not accept, `additionalProperties: false`
  respected, nested objects and arrays checked recursively, local `$ref`s followed (see
  `topolint/contracts/`). One finding per incompatible field.
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

from topolint.context import Context
from topolint.contracts import UNCERTAIN_KINDS, Incompatibility, incompatibilities
from topolint.contracts.schemas import Schemas, canonical, field_of
from topolint.findings import Fact

NAME = "contract-mismatch"
CODE = "TL703"
SEVERITY = "error"
OPTIONS = {"report-unverifiable": False}

#: Findings per pair of types; more are summarised in the last one.
MAX_PER_PAIR = 10


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    schemas = Schemas(topo)
    uncertain = bool(ctx.option("report-unverifiable", False))
    for name in topo.messages:
        loaded = schemas.get(name)
        if loaded is not None and loaded.error:
            yield Fact(
                f"message type {name}: {loaded.error}; edges carrying {name} are not checked",
                path=loaded.path,
                subject=(f"messages.{name}",),
            )
    cache: dict[tuple[str, str], list[Incompatibility] | None] = {}
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
        edge = f"{ss.id} sends {p} to {rs.id}, which receives {q}"
        where = (*rs.path, "receives")
        related = ((*ss.path, "sends"),)
        subject = (ss.id, rs.id)
        mp, mq = topo.messages.get(p), topo.messages.get(q)
        if mp and mq and mp.encoding and mq.encoding and mp.encoding != mq.encoding:
            yield Fact(
                f"{edge}: {p} is encoded {mp.encoding} but {rs.id} decodes {q} as {mq.encoding}",
                path=where,
                subject=subject,
                related=(*related, (*mp.path, "encoding"), (*mq.path, "encoding")),
                fix=f"use one encoding for {p} and {q}",
            )
        lp, lq = schemas.get(p), schemas.get(q)
        if (lp and lp.error) or (lq and lq.error):
            continue  # reported at the schema key above
        sp = lp.schema if lp else None
        sq = lq.schema if lq else None
        if sp is None or sq is None:
            missing = [t for t, s in ((p, sp), (q, sq)) if s is None]
            yield Fact(
                f"{edge}: the type names differ and {' and '.join(missing)} "
                f"{'has' if len(missing) == 1 else 'have'} no schema to show they agree",
                path=where,
                subject=subject,
                related=related,
                fix=f"send and receive the same type, or give {' and '.join(missing)} a schema",
            )
            continue
        if canonical(sp) == canonical(sq):
            continue
        key = (p, q)
        if key not in cache:
            found = incompatibilities(sp, sq)
            cache[key] = [i for i in found if uncertain or i.kind not in UNCERTAIN_KINDS]
        issues = cache[key] or []
        for i, inc in enumerate(issues[:MAX_PER_PAIR]):
            more = len(issues) - MAX_PER_PAIR
            tail = f" (and {more} more)" if i == MAX_PER_PAIR - 1 and more > 0 else ""
            verify = " (cannot be verified)" if inc.kind in UNCERTAIN_KINDS else ""
            yield Fact(
                f"{edge}: field {field_of(inc.pointer)}{verify}: {inc.reason}{tail}",
                path=where,
                subject=(*subject, inc.pointer),
                related=(*related, ("messages", p, "schema"), ("messages", q, "schema")),
                data={"pointer": inc.pointer, "kind": inc.kind},
                fix=f"make {p}'s schema guarantee what {q} requires at {inc.pointer}",
            )
