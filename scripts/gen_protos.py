"""Regenerate the Python code for the v1 contract, or check that the committed code is current.

Generated code lives in its own root (gen/python) and is never edited by hand. `--check` generates
into a temporary directory and fails when anything differs from what is committed, so a proto change
without regeneration (or a hand edit) cannot land.

Usage: python scripts/gen_protos.py [--check]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "gen" / "python"
PACKAGE = "v2x"


def generate(out_dir: Path) -> None:
    """Run grpc_tools.protoc with the mypy-protobuf plugins into out_dir."""
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, env=plugin_env())
    root = out_dir / PACKAGE
    for package_dir in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        (package_dir / "__init__.py").touch()
    (root / "py.typed").touch()


def plugin_env() -> dict[str, str]:
    """The environment for protoc, with this interpreter's scripts directory first on PATH.

    protoc finds the mypy-protobuf plugins (protoc-gen-mypy, protoc-gen-mypy_grpc) on PATH. In a
    virtual environment that nobody activated (scripts/test makes .venv on a Debian system Python),
    they sit beside the interpreter but not on PATH.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")])
    return env


def differences(left: Path, right: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on either side counts)."""
    result: list[str] = []
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    stack = [(comparison, Path())]
    while stack:
        node, prefix = stack.pop()
        result += [str(prefix / name) for name in node.left_only + node.right_only + node.diff_files]
        result += [str(prefix / name) for name in node.funny_files]
        stack += [(sub, prefix / name) for name, sub in node.subdirs.items()]
    return sorted(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if regenerating would change gen/python")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(OUT_DIR / PACKAGE, ignore_errors=True)
        generate(OUT_DIR)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        drift = differences(Path(tmp) / PACKAGE, OUT_DIR / PACKAGE)
    if drift:
        print("generated code is out of date; run python scripts/gen_protos.py:", *drift, sep="\n  ")
        return 1
    print("generated code is current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
