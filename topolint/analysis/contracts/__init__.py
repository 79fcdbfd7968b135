"""Message contracts: does a producer's JSON Schema satisfy what a consumer requires?

On every edge of a topology the sending socket's message type (the *producer* schema)
must fit the receiving socket's message type (the *consumer* schema): every message valid
under the producer schema must be valid under the consumer schema.  This package decides
that statically, keyword by keyword, and says where and why it breaks.

:func:`incompatibilities` returns ``[]`` when, as far as it can tell, the producer fits.
It is sound for what it reports in the common cases: equal schemas and producers strictly
narrower than the consumer give no finding.  Kinds in :data:`UNCERTAIN_KINDS` say "could
not be verified" rather than "proved broken" (a non-local ``$ref``, a consumer ``format``
or ``pattern`` the producer does not declare, keywords outside what is modelled); a rule
may report them at a lower severity.

Pointers are JSON pointers into the consumer schema written as the *instance* path in
schema vocabulary: ``/properties/<name>`` for a field, ``/items`` (or ``/prefixItems/<i>``)
for array items, ``/additionalProperties`` for undeclared fields.  ``$ref``, ``allOf``,
``anyOf`` and ``oneOf`` are transparent, so a field reached through a definition is
reported where the message holds it, e.g. ``/properties/hits/items/properties/energy``.

Semantics and deliberate simplifications:

- ``required``, ``type`` (``integer`` fits ``number``), ``enum``/``const``, numeric bounds
  (draft-4 boolean and draft-6+ numeric ``exclusive*``), ``multipleOf``, string lengths,
  ``pattern`` and ``format`` (compared by equality only), ``items``/``prefixItems``/tuple
  ``items``/``additionalItems``, ``min/maxItems``, ``uniqueItems``, ``contains``,
  ``properties``, ``patternProperties``, ``additionalProperties``,
  ``unevaluatedProperties`` (approximated), ``min/maxProperties``, ``dependentRequired``,
  ``propertyNames``, ``not`` and ``if``/``then``/``else`` (only when decidable).
- A producer that declares a finite set of values (``enum``, ``const``, or only
  ``boolean``/``null`` types) is checked by validating each value against the consumer.
- A field the consumer declares but the producer neither declares nor requires is not
  reported even if the producer allows anything there: optional unknowns are no alarm.
- Producer ``allOf`` is merged; producer ``anyOf``/``oneOf`` are distributed (each
  alternative must fit, at most 64 alternatives); consumer ``allOf`` is checked branch by
  branch; consumer ``anyOf``/``oneOf`` need one branch to fit (``oneOf`` exclusivity is not
  checked).  Producer ``not``/``if`` are ignored (the producer is taken as wider).
- Local ``$ref`` (``#``, ``#/...``, ``#anchor``) is followed on both sides with
  ``$ref`` siblings applied (2019-09+ semantics); a pair of schemas already being compared
  is assumed compatible on re-entry (recursive schemas terminate).  Non-local references
  are reported with kind ``ref`` and never fetched.
- Work is memoised per (producer node, consumer node) pair; nesting beyond 200 steps is
  reported as ``unchecked`` instead of recursing further.

Layout: :mod:`.loading` reads schema files; :mod:`.subsumption` drives the comparison
over the keyword families (:mod:`.combinators`, :mod:`.scalars`, :mod:`.arrays`,
:mod:`.objects`); :mod:`.views` normalises producer schemas; :mod:`.values` validates
single values; :mod:`.identity`, :mod:`.refs`, :mod:`.keywords`, :mod:`.bounds`,
:mod:`.wording` and :mod:`.issues` are what they share.
"""

from topolint.analysis.contracts.issues import UNCERTAIN_KINDS, Incompatibility
from topolint.analysis.contracts.loading import MAX_SCHEMA_BYTES, ContractError, load_schema
from topolint.analysis.contracts.subsumption import incompatibilities

__all__ = [
    "MAX_SCHEMA_BYTES",
    "UNCERTAIN_KINDS",
    "ContractError",
    "Incompatibility",
    "incompatibilities",
    "load_schema",
]
