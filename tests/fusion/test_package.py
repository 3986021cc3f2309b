"""The fusion package is transport-free and its public surface is complete."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import roadlink.fusion

FORBIDDEN = ("grpc", "aiomqtt", "amqtt", "google.protobuf", "v2x", "gateway", "roadside", "cloud", "roadlink.wire")


def test_no_transport_imports_in_source() -> None:
    for path in Path(roadlink.fusion.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), f"{path.name} imports {name}"


def test_importing_fusion_loads_no_transport() -> None:
    code = (
        "import sys, roadlink.fusion\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('google.protobuf')]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_public_surface_is_complete() -> None:
    exported = set(roadlink.fusion.__all__)
    assert len(exported) == len(roadlink.fusion.__all__)
    for name in exported:
        assert hasattr(roadlink.fusion, name)
    for info in pkgutil.iter_modules(roadlink.fusion.__path__):
        module = importlib.import_module(f"roadlink.fusion.{info.name}")
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.__all__ lists missing {name}"
    roles = ("Tracker", "KalmanPredictor", "KalmanUpdater", "MahalanobisGate", "gnn_assign", "MOfNInitiator")
    assert set(roles) <= exported
