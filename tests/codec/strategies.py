"""Hypothesis strategies derived from a UPER description: every value the description can encode.

`values(t)` walks the type tree, so a property over it covers the whole value space of a message (within the
list-length cap), including optional components, extensible enumerations and open types selected by an id.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hypothesis import strategies as st

from roadlink.codec.uper import (
    AsnType,
    BitString,
    Boolean,
    Choice,
    Enumerated,
    Field,
    IA5String,
    Integer,
    Null,
    OctetString,
    OpenType,
    OpenTypeBy,
    Raw,
    Sequence,
    SequenceOf,
    Size,
    Undescribed,
    UTF8String,
)

MAX_ITEMS = 6
"""Longest generated SEQUENCE OF / string beyond a size constraint's lower bound (keeps examples fast)."""


def _count(size: Size) -> st.SearchStrategy[int]:
    upper = size.lb + MAX_ITEMS if size.ub is None else min(size.ub, size.lb + MAX_ITEMS)
    root = st.integers(size.lb, upper)
    if not size.extensible:
        return root
    outside = st.integers(0, size.lb - 1) if size.lb else st.nothing()
    if size.ub is not None:
        outside = outside | st.integers(size.ub + 1, size.ub + MAX_ITEMS)
    return root | outside


def _integer(t: Integer) -> st.SearchStrategy[int]:
    if t.lb is not None and t.ub is not None:
        root = st.integers(t.lb, t.ub)
        return root | st.integers() if t.extensible else root
    return st.integers(min_value=t.lb) if t.lb is not None else st.integers()


def _enumerated(t: Enumerated) -> st.SearchStrategy[Any]:
    names = st.sampled_from(t.root + (t.extensions or ()))
    if t.extensions is None:
        return names
    return names | st.integers(len(t.extensions), 200)  # unknown extensions decode to their index


def _raw() -> st.SearchStrategy[Raw]:
    return st.binary(min_size=1, max_size=12).map(Raw)


def _sequence(t: Sequence) -> st.SearchStrategy[dict[str, Any]]:
    by: list[Field] = [f for f in t.fields if isinstance(f.type, OpenTypeBy)]
    plain = [f for f in t.fields if f not in by and not isinstance(f.type, Undescribed)]
    required = {f.name: values(f.type) for f in plain if not f.is_optional}
    optional = {f.name: values(f.type) for f in plain if f.is_optional}
    optional |= {f.name: values(f.type) for f in t.extensions}
    base: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(required, optional=optional)
    for f in by:
        base = base.flatmap(partial(_selected, t, f))
    return base


def _selected(seq: Sequence, f: Field, d: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Pick the selector value and the content together: a described type for table keys, Raw otherwise."""
    by = f.type
    assert isinstance(by, OpenTypeBy)
    (selector,) = [s for s in seq.fields if s.name == by.selector]
    assert isinstance(selector.type, Integer)
    options: list[st.SearchStrategy[tuple[Any, Any]]] = [
        st.tuples(st.just(key), values(content)) for key, content in by.table.items()
    ]
    others = values(selector.type).filter(lambda k: k not in by.table)
    options.append(st.tuples(others, _raw()))
    return st.one_of(options).map(lambda kv: {**d, by.selector: kv[0], f.name: kv[1]})


def values(t: AsnType) -> st.SearchStrategy[Any]:
    """All values of `t` (lists and strings capped at MAX_ITEMS items beyond their lower bound)."""
    strategy: st.SearchStrategy[Any]
    if isinstance(t, Integer):
        strategy = _integer(t)
    elif isinstance(t, Boolean):
        strategy = st.booleans()
    elif isinstance(t, Null):
        strategy = st.none()
    elif isinstance(t, Enumerated):
        strategy = _enumerated(t)
    elif isinstance(t, BitString):
        strategy = _count(t.size).flatmap(lambda n: st.tuples(st.integers(0, (1 << n) - 1), st.just(n)))
    elif isinstance(t, OctetString):
        strategy = _count(t.size).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    elif isinstance(t, IA5String):
        strategy = _count(t.size).flatmap(lambda n: st.text(st.characters(max_codepoint=127), min_size=n, max_size=n))
    elif isinstance(t, UTF8String):
        strategy = st.text(max_size=MAX_ITEMS)
    elif isinstance(t, Sequence):
        strategy = _sequence(t)
    elif isinstance(t, SequenceOf):
        strategy = _count(t.size).flatmap(lambda n: st.lists(values(t.element), min_size=n, max_size=n))
    elif isinstance(t, Choice):
        alternatives = [
            st.tuples(st.just(name), values(alt))
            for name, alt in t.alternatives + t.extensions
            if not isinstance(alt, Undescribed)  # nothing to generate: its values cannot be encoded
        ]
        strategy = st.one_of(alternatives)
    elif isinstance(t, OpenType):
        strategy = _raw() if t.inner is None else values(t.inner)
    else:
        raise TypeError(f"no strategy for {t!r}")
    return strategy
