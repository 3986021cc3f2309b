"""The committed format schemas (docs/formats) are current, complete, and their README examples normalize."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.adapters.base import MessageContext
from gateway.adapters.canonical import as_canonical
from gateway.adapters.registry import ADAPTERS
from gateway.adapters.schemas import PAYLOAD_MODELS, format_schemas, render_schema

ROOT = Path(__file__).resolve().parents[2]
FORMATS_DIR = ROOT / "docs" / "formats"
CONTEXT = MessageContext("rsu/rsu-1/any/s0", "rsu-1", "s0", receive_time_unix_ms=1_714_579_212_345)
LIDAR_OPTIONS = {"latitude_deg": 31.23, "longitude_deg": 121.47, "height_m": 18.0, "yaw_deg": 90.0}


def _gen_schemas_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "scripts" / "gen_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN_SCHEMAS = _gen_schemas_script()


def test_committed_schemas_are_current() -> None:
    assert GEN_SCHEMAS.drift(FORMATS_DIR) == [], "run python scripts/gen_schemas.py"
    for name, schema in format_schemas().items():
        assert (FORMATS_DIR / f"{name}.schema.json").read_text(encoding="utf-8") == render_schema(schema)


def test_check_detects_changed_missing_and_stale_files(tmp_path: Path) -> None:
    GEN_SCHEMAS.write(tmp_path)
    assert GEN_SCHEMAS.drift(tmp_path) == []
    (tmp_path / "bsm_json.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "camera_ground.schema.json").unlink()
    (tmp_path / "retired.schema.json").write_text("{}\n", encoding="utf-8")
    assert GEN_SCHEMAS.drift(tmp_path) == ["bsm_json.schema.json", "camera_ground.schema.json", "retired.schema.json"]
    GEN_SCHEMAS.write(tmp_path)
    assert GEN_SCHEMAS.drift(tmp_path) == []


def test_every_schema_names_a_registered_adapter() -> None:
    assert set(format_schemas()) == set(PAYLOAD_MODELS)
    assert set(PAYLOAD_MODELS) <= set(ADAPTERS)
    assert {"radar_wgs84", "lidar_sensor_frame", "camera_ground", "signal_controller", "bsm_json"} <= set(
        PAYLOAD_MODELS
    )


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(model.property, property schema) for the top model and every $defs model."""
    models = [("", schema), *schema.get("$defs", {}).items()]
    return [(f"{model}.{name}", prop) for model, body in models for name, prop in body.get("properties", {}).items()]


@pytest.mark.parametrize("name", sorted(PAYLOAD_MODELS))
def test_every_field_is_documented_by_its_json_name(name: str) -> None:
    schema = format_schemas()[name]
    properties = _properties(schema)
    assert properties
    undocumented = [path for path, prop in properties if not prop.get("description")]
    assert undocumented == []
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schemas_use_the_json_names() -> None:
    schemas = format_schemas()
    assert "coreData" in schemas["bsm_json"]["properties"]
    assert "class" in schemas["lidar_sensor_frame"]["$defs"]["LidarObject"]["properties"]
    assert "timeStamp" in schemas["radar_wgs84"]["properties"]


def _readme_examples() -> list[tuple[str, bytes]]:
    """(adapter, payload) for every ```json block in docs/formats/README.md, under its `## adapter` heading."""
    examples, adapter = [], ""
    text = (FORMATS_DIR / "README.md").read_text(encoding="utf-8")
    for heading, block in re.findall(r"^## (\w+)$|^```json\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        if heading:
            adapter = heading
        else:
            examples.append((adapter, block.encode()))
    return examples


def test_readme_has_one_section_per_format() -> None:
    assert {adapter for adapter, _ in _readme_examples()} == set(PAYLOAD_MODELS)


@pytest.mark.parametrize(("adapter", "payload"), _readme_examples())
def test_readme_examples_normalize_and_serialize(adapter: str, payload: bytes) -> None:
    json.loads(payload)
    options = LIDAR_OPTIONS if adapter == "lidar_sensor_frame" else {}
    items = ADAPTERS[adapter](options)(payload, CONTEXT)
    assert len(items) == 1
    _, message = as_canonical(items[0])
    assert message.SerializeToString()
