"""The SDK's public surface: `__all__` is complete and exact, and users can name every type they meet."""

from __future__ import annotations
import __future__

import dataclasses
import inspect
import types
import typing
from collections.abc import Iterator

import roadlink.sdk

FOREIGN_MODULES = ("grpc", "google.protobuf", "v2x")


def public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and not isinstance(value, __future__._Feature)
    }


def test_all_is_exact_and_star_import_gives_it() -> None:
    namespace: dict[str, object] = {}
    exec("from roadlink.sdk import *", namespace)

    assert len(roadlink.sdk.__all__) == len(set(roadlink.sdk.__all__))
    assert set(roadlink.sdk.__all__) == public_names(roadlink.sdk)
    assert set(roadlink.sdk.__all__) == {name for name in namespace if name != "__builtins__"}


def test_every_exported_name_is_documented() -> None:
    undocumented = [name for name in roadlink.sdk.__all__ if not inspect.getdoc(getattr(roadlink.sdk, name))]

    assert undocumented == []


def _public_members(cls: type) -> Iterator[object]:
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            yield member.fget
        elif isinstance(member, classmethod | staticmethod):
            yield member.__func__
        elif inspect.isfunction(member):
            yield member
    if dataclasses.is_dataclass(cls):
        yield cls  # its fields


def _classes_in(hint: object) -> Iterator[type]:
    if isinstance(hint, type):
        yield hint
    for arg in typing.get_args(hint):
        yield from _classes_in(arg)


def _types_users_meet() -> dict[type, str]:
    """Every class named in a public signature or field of an exported class or function, and where."""
    seen: dict[type, str] = {}
    for name in roadlink.sdk.__all__:
        exported = getattr(roadlink.sdk, name)
        if isinstance(exported, types.UnionType):  # a type alias: the classes it names
            for cls in _classes_in(exported):
                seen.setdefault(cls, name)
            continue
        members = list(_public_members(exported)) if isinstance(exported, type) else [exported]
        for member in members:
            if member is exported and isinstance(exported, type) and not dataclasses.is_dataclass(exported):
                continue
            for hint in typing.get_type_hints(member).values():
                for cls in _classes_in(hint):
                    seen.setdefault(cls, f"{name}.{getattr(member, '__name__', '')}")
    return seen


def test_every_roadlink_type_in_a_public_signature_is_exported() -> None:
    met = _types_users_meet()
    missing = {
        cls.__qualname__: where
        for cls, where in met.items()
        if cls.__module__.startswith("roadlink.") and cls.__name__ not in roadlink.sdk.__all__
    }

    assert missing == {}
    assert roadlink.sdk.Situation in met  # the scan does reach the feeds' element type
    assert roadlink.sdk.RoadSideInfo in met  # and the members of a type alias


def test_no_public_signature_mentions_grpc_or_protobuf() -> None:
    foreign = {
        cls.__qualname__: where
        for cls, where in _types_users_meet().items()
        if cls.__module__.startswith(FOREIGN_MODULES)
    }

    assert foreign == {}
