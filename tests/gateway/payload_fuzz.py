"""Hypothesis machinery to fuzz any gateway adapter from its valid sample payloads.

- `JSON_VALUES`: arbitrary JSON values (NaN and infinities included, as a sloppy encoder would write them).
- `mutated_json(samples)`: a sample JSON document with a few entries deleted, replaced or retyped, at any depth
  of its objects and arrays.
- `corrupted_bytes(samples)`: a sample payload with a few bytes flipped, and maybe truncated.
- `assert_normalizes_or_rejects(adapter, payload, context)`: the adapter contract of gateway.adapters.base: an
  adapter returns normalized items, or raises `roadlink.domain.errors.ValidationError` and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Collection, Sequence
from typing import Any

from hypothesis import strategies as st

from gateway.adapters.base import Adapter, MessageContext, Normalized
from gateway.adapters.canonical import as_canonical, as_domain
from roadlink.domain.errors import ValidationError

__all__ = ["JSON_VALUES", "assert_normalizes_or_rejects", "corrupted_bytes", "mutated_json"]

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
"""Any JSON value: scalars (NaN and +-infinity included) and small nested arrays and objects."""


def _keys(node: Any) -> list[Any]:
    """The keys of a JSON object (sorted) or the indexes of an array; nothing for a scalar."""
    if isinstance(node, dict):
        return sorted(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def _retypings(value: Any) -> list[Any]:
    """The value as other JSON types: what a firmware with the wrong idea of the schema would send."""
    candidates: list[Any] = [None, True, json.dumps(value), [value], {"value": value}]
    if isinstance(value, bool):
        candidates.append(int(value))
    elif isinstance(value, int):
        candidates.append(float(value))
    elif isinstance(value, float) and math.isfinite(value):
        candidates.append(round(value))
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            candidates.append(json.loads(value))
    return [candidate for candidate in candidates if type(candidate) is not type(value)]


def _containers(node: Any) -> list[Any]:
    """Every non-empty JSON object and array in a parsed document, at any depth, outermost first."""
    keys = _keys(node)
    if not keys:
        return []
    return [node, *(inner for key in keys for inner in _containers(node[key]))]


@st.composite
def mutated_json(
    draw: st.DrawFn, samples: Sequence[bytes], values: st.SearchStrategy[Any] = JSON_VALUES, max_mutations: int = 3
) -> bytes:
    """One of `samples` (JSON documents) with 1 to `max_mutations` entries deleted, replaced or retyped.

    Each mutation picks one of the document's objects and arrays (at any depth, each as likely as the others),
    then one of its entries, and deletes it, replaces it with a value from `values` or turns it into another
    JSON type. Pass e.g. `values=JSON_VALUES | st.integers(-1, 36_200)` to aim at a format's integer ranges.
    """
    document: Any = json.loads(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, max_mutations))):
        containers = _containers(document)
        if not containers:
            break
        container = draw(st.sampled_from(containers))
        key = draw(st.sampled_from(_keys(container)))
        operation = draw(st.sampled_from(("delete", "replace", "retype")))
        if operation == "delete":
            del container[key]
        elif operation == "replace":
            container[key] = draw(values)
        else:
            container[key] = draw(st.sampled_from(_retypings(container[key])))
    return json.dumps(document, allow_nan=True).encode()


@st.composite
def corrupted_bytes(draw: st.DrawFn, samples: Sequence[bytes], max_flips: int = 8) -> bytes:
    """One of `samples` with 1 to `max_flips` bytes flipped (XOR with a non-zero mask), truncated half of the time."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, max_flips))):
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


def assert_normalizes_or_rejects(
    adapter: Adapter, payload: bytes, context: MessageContext, reasons: Collection[str] | None = None
) -> Sequence[Normalized] | None:
    """Run `adapter` on `payload`: the normalized items it returns, or None when it rejects the payload.

    Asserts the adapter contract: it returns a sequence of normalized items (v1 messages or domain objects,
    each serializable and convertible to domain objects) or raises ValidationError
    (any other exception propagates and fails the test). With `reasons`, the rejection's reason must be one
    of them.
    """
    try:
        output = adapter(payload, context)
    except ValidationError as exc:
        rejection = exc
    else:
        assert isinstance(output, Sequence)
        for item in output:
            as_canonical(item)[1].SerializeToString()  # TypeError for anything but a Normalized item
            as_domain(item)
        return output
    assert isinstance(rejection.reason, str)
    assert rejection.reason, f"a ValidationError without a reason: {rejection}"
    assert reasons is None or rejection.reason in reasons, f"unexpected reason {rejection.reason!r}: {rejection}"
    return None
