"""Architecture checks: the domain core is transport-free, and every `__all__` is accurate.

These parse or import the source tree; they need no network and no broker.
"""

from __future__ import annotations
import __future__

import ast
import importlib
import inspect
import types
import typing
from pathlib import Path

import pytest

import roadlink.sdk

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("roadlink", "gateway", "roadside", "cloud")
FORBIDDEN_IN_DOMAIN = (
    "grpc",
    "aiomqtt",
    "paho",
    "amqtt",
    "v2x",
    "google.protobuf",
    "roadlink.wire",
    "roadlink.sdk",
    "gateway",
    "roadside",
    "cloud",
)
"""Imports the domain core must not make: transports, generated code and the layers built on the domain."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules_under(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _imported_modules(source: str, module: str, is_package: bool) -> list[str]:
    """Every module an import statement in `source` names (anywhere in the file), relative ones resolved."""
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    imported: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            imported.extend(f"{base}.{alias.name}" for alias in node.names)
    return imported


def _forbidden(name: str) -> bool:
    if name.split(".")[0].startswith("grpc_"):
        return True
    return any(name == root or name.startswith(f"{root}.") for root in FORBIDDEN_IN_DOMAIN)


def test_import_scanner_sees_every_kind_of_import() -> None:
    source = """
import grpc.aio as aio
from google.protobuf import message
def late() -> None:
    import grpc_health.v1
from ..wire import convert
from . import spatial
"""
    imported = _imported_modules(source, "roadlink.domain.clock", is_package=False)

    assert imported == [
        "grpc.aio",
        "google.protobuf.message",
        "roadlink.wire.convert",
        "roadlink.domain.spatial",
        "grpc_health.v1",
    ]
    assert [name for name in imported if _forbidden(name)] == imported[:3] + imported[4:]


def test_domain_scan_covers_the_domain_modules() -> None:
    names = {_module_name(path) for path in _modules_under("roadlink/domain")}

    assert {"roadlink.domain", "roadlink.domain.spatial", "roadlink.domain.errors"} <= names


@pytest.mark.parametrize("path", _modules_under("roadlink/domain"), ids=lambda path: path.name)
def test_domain_core_is_transport_free(path: Path) -> None:
    module = _module_name(path)
    imported = _imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")

    assert [name for name in imported if _forbidden(name)] == []


def _public_names(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and not isinstance(value, __future__._Feature)
    }


def test_sdk_all_lists_every_public_name_once() -> None:
    exported = list(roadlink.sdk.__all__)

    assert len(exported) == len(set(exported))
    assert set(exported) == _public_names(roadlink.sdk)


def test_sdk_all_names_exist_and_star_import_works() -> None:
    namespace: dict[str, object] = {}
    exec("from roadlink.sdk import *", namespace)

    assert all(hasattr(roadlink.sdk, name) for name in roadlink.sdk.__all__)
    assert set(roadlink.sdk.__all__) <= set(namespace)


def test_sdk_exports_plain_domain_types_not_protobuf() -> None:
    for name in roadlink.sdk.__all__:
        value = getattr(roadlink.sdk, name)
        # A union alias (`A | B`) lives in `types`; what matters is where each of its members comes from.
        members = typing.get_args(value) if isinstance(value, types.UnionType) else (value,)
        for member in members:
            module = getattr(member, "__module__", "")
            assert module.startswith(("roadlink.domain.", "roadlink.sdk.")), (name, member, module)


ALL_MODULES = [_module_name(path) for path in _modules_under(*PACKAGES) if path.name != "__main__.py"]


@pytest.mark.parametrize("module_name", ALL_MODULES)
def test_all_lists_only_names_that_exist(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return

    assert isinstance(exported, list | tuple)
    assert all(isinstance(name, str) for name in exported)
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    assert [name for name in exported if not hasattr(module, name)] == []


def _declares_all(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(target, ast.Name) and target.id == "__all__"
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
    )


def test_most_modules_declare_all() -> None:
    declaring = [path for path in _modules_under(*PACKAGES) if _declares_all(path)]

    assert len(declaring) >= 30


def _wait_for_calls(source: str) -> list[int]:
    """Lines calling `asyncio.wait_for(...)` (the attribute form; a bare `wait_for` of a Condition is fine)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "wait_for"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "asyncio"
    ]


def test_wait_for_scanner_finds_the_call() -> None:
    assert _wait_for_calls("async def f():\n    await asyncio.wait_for(g(), 1)\n") == [2]
    assert _wait_for_calls("async def f():\n    await cond.wait_for(ready)\n") == []


@pytest.mark.parametrize("path", _modules_under(*PACKAGES), ids=_module_name)
def test_services_use_asyncio_timeout_not_wait_for(path: Path) -> None:
    """On Python 3.11 `asyncio.wait_for` can swallow a cancellation that lands as the awaited call completes
    (CPython gh-86296, fixed in 3.12), leaving a task that its owner cannot stop; `asyncio.timeout` has no
    such race."""
    assert _wait_for_calls(path.read_text(encoding="utf-8")) == [], path
