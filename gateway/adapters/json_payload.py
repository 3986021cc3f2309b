"""What the JSON vendor formats share: parsing bytes into a pydantic model, our error reasons, common limits.

`parse_json_payload(Model, payload, max_bytes=...)` is the one way the JSON adapters (lidar_sensor_frame,
camera_ground, signal_controller, bsm_json) turn bytes into a validated payload model. It rejects a bad
message with `roadlink.domain.errors.ValidationError` and one of these reasons, and never raises anything
else:

    too_large       the payload is longer than the adapter's limit (checked before parsing)
    not_json        not UTF-8 JSON (a UTF-8 byte-order mark is accepted and skipped)
    wrong_shape     valid JSON of the wrong shape: a missing field, a string where a number belongs, a bool
    out_of_range    a number or length outside its documented range, NaN or infinity, an unknown code
    count_mismatch  a declared count disagrees with the list it counts

`ValidationError.field` names the offending field as a dotted path of JSON names (`objects.3.x_m`).
Model validators that raise `PydanticCustomError` use one of the reasons above as the error type and may
put the field to blame in the error context under "field" (their own location is the model's).

Also here: the class-name vocabulary of the formats that send object classes as strings (`CLASS_NAMES`),
and the numeric limits the formats document.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Final, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ValidationError

__all__ = [
    "BOM",
    "CLASS_NAMES",
    "MAX_UINT32",
    "MAX_UNIX_MS",
    "PAYLOAD_MODEL_CONFIG",
    "REASONS",
    "object_class_from_name",
    "parse_json_payload",
    "to_validation_error",
]

PAYLOAD_MODEL_CONFIG: Final = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)
"""Config of every payload model: unknown fields ignored, NaN/inf rejected, instances immutable."""

MAX_UINT32: Final = 2**32 - 1
MAX_UNIX_MS: Final = 253_402_300_799_999
"""Latest accepted time, unix ms (9999-12-31T23:59:59.999Z): any offset a format adds stays within int64."""

BOM: Final = b"\xef\xbb\xbf"

_OUT_OF_RANGE_ERRORS: Final = (
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "too_long",
    "too_short",
    "string_too_long",
    "string_too_short",
)
_OWN_REASONS: Final = ("wrong_shape", "out_of_range", "count_mismatch")

REASONS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "json_invalid": "not_json",
        **dict.fromkeys(_OUT_OF_RANGE_ERRORS, "out_of_range"),
        **{reason: reason for reason in _OWN_REASONS},
    }
)
"""pydantic error type -> ValidationError reason; every other error type is "wrong_shape"."""

CLASS_NAMES: Final[Mapping[str, ObjectClass]] = types.MappingProxyType(
    {
        "unknown": ObjectClass.UNKNOWN,
        "car": ObjectClass.PASSENGER_CAR,
        "passenger_car": ObjectClass.PASSENGER_CAR,
        "van": ObjectClass.LIGHT_TRUCK,
        "light_truck": ObjectClass.LIGHT_TRUCK,
        "truck": ObjectClass.TRUCK,
        "bus": ObjectClass.BUS,
        "motorcycle": ObjectClass.MOTORCYCLE,
        "motorcyclist": ObjectClass.MOTORCYCLE,
        "bicycle": ObjectClass.BICYCLE,
        "cyclist": ObjectClass.BICYCLE,
        "pedestrian": ObjectClass.PEDESTRIAN,
        "person": ObjectClass.PEDESTRIAN,
        "animal": ObjectClass.ANIMAL,
        "emergency_vehicle": ObjectClass.EMERGENCY_VEHICLE,
        "obstacle": ObjectClass.OBSTACLE,
        "traffic_cone": ObjectClass.OBSTACLE,
        "vehicle": ObjectClass.VEHICLE,
    }
)
"""Class name (compared in lower case) -> ObjectClass, for formats that send classes as strings.

A name not listed maps to ObjectClass.UNKNOWN: a new vendor class is data, not an error.
"""

ModelT = TypeVar("ModelT", bound=BaseModel)


def object_class_from_name(name: str) -> ObjectClass:
    """ObjectClass for a class name (case-insensitive) per CLASS_NAMES; unknown names -> UNKNOWN."""
    return CLASS_NAMES.get(name.lower(), ObjectClass.UNKNOWN)


def to_validation_error(exc: pydantic.ValidationError) -> ValidationError:
    """Our ValidationError for the first pydantic error; detail names its location (dotted, by alias)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    parts = [str(part) for part in first["loc"]]
    blamed = first.get("ctx", {}).get("field")
    if blamed is not None:
        parts.append(str(blamed))
    field = ".".join(parts) or None
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    detail = f"{field or 'payload'}: {first['msg']}{more}"
    return ValidationError(REASONS.get(first["type"], "wrong_shape"), detail, field=field)


def parse_json_payload(model: type[ModelT], payload: bytes, *, max_bytes: int) -> ModelT:
    """Validate one message (UTF-8 JSON, optional BOM, at most max_bytes) against a payload model.

    Raises:
        ValidationError: reason "too_large", "not_json", "wrong_shape", "out_of_range" or "count_mismatch";
            never anything else.
    """
    if len(payload) > max_bytes:
        raise ValidationError("too_large", f"payload is {len(payload)} bytes, limit {max_bytes}")
    if payload.startswith(BOM):
        payload = payload[len(BOM) :]
    try:
        return model.model_validate_json(payload)
    except pydantic.ValidationError as exc:
        raise to_validation_error(exc) from exc
    except Exception as exc:  # last resort: an adapter raises nothing but our ValidationError
        raise ValidationError("wrong_shape", f"payload: unparseable ({type(exc).__name__})") from exc
