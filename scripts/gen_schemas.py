"""Regenerate the JSON Schemas of the gateway's vendor formats, or check that the committed ones are current.

The schemas come from the adapters' pydantic payload models (`gateway.adapters.schemas.format_schemas`) and
live in docs/formats/<adapter>.schema.json for firmware teams. `--check` fails when regenerating would change,
add or remove any of them, so a model change without regeneration (or a hand edit) cannot land.

Usage: python scripts/gen_schemas.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the models of this checkout, whatever else is installed

from gateway.adapters.schemas import format_schemas, render_schema  # noqa: E402

OUT_DIR = ROOT / "docs" / "formats"
SUFFIX = ".schema.json"


def expected_files() -> dict[str, str]:
    """File name -> text of every schema file that should be committed."""
    return {f"{name}{SUFFIX}": render_schema(schema) for name, schema in format_schemas().items()}


def drift(out_dir: Path) -> list[str]:
    """File names under out_dir that are missing, different or no longer generated."""
    expected = expected_files()
    present = {path.name for path in out_dir.glob(f"*{SUFFIX}")}
    stale = sorted(present - expected.keys())
    changed = [name for name, text in expected.items() if _read(out_dir / name) != text]
    return sorted(changed + stale)


def write(out_dir: Path) -> None:
    """Write every schema and remove schema files no adapter generates any more."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = expected_files()
    for path in out_dir.glob(f"*{SUFFIX}"):
        if path.name not in expected:
            path.unlink()
    for name, text in expected.items():
        (out_dir / name).write_text(text, encoding="utf-8")


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if regenerating would change docs/formats")
    args = parser.parse_args()
    if not args.check:
        write(OUT_DIR)
        return 0
    stale = drift(OUT_DIR)
    if stale:
        print("format schemas are out of date; run python scripts/gen_schemas.py:", *stale, sep="\n  ")
        return 1
    print("format schemas are current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
