"""What roadside sensors report: detected objects grouped in frames, with their provenance."""

from __future__ import annotations

from dataclasses import dataclass

from roadlink.domain.classes import ObjectClass
from roadlink.domain.spatial import Covariance2D, Dimensions, Position

__all__ = ["AirMessage", "DetectedObject", "PerceptionFrame", "Provenance"]


@dataclass(frozen=True, slots=True)
class AirMessage:
    """An ASN.1 UPER message as it arrived over the air, kept so that re-encoding it loses nothing.

    standard is "j2735", "csae53" or "etsi"; message_id the id in that family (J2735 DSRCmsgID, CSAE
    MessageFrame alternative index, ETSI messageID); uper the whole MessageFrame (J2735, CSAE) or ETSI PDU.
    """

    standard: str
    message_id: int
    uper: bytes


@dataclass(frozen=True, slots=True)
class Provenance:
    """Lineage of a message: producer, sensors, topic and the source and gateway times (unix ms).

    flags are documented lowercase tokens ("ieee1609dot2_unverified", "out_of_order"); air_message is the
    air-side message the data was mapped from, when it was one.
    """

    source_id: str
    source_time_unix_ms: int
    gateway_receive_time_unix_ms: int = 0
    sensor_ids: tuple[str, ...] = ()
    topic: str = ""
    source_sequence: int | None = None
    clock_offset_ms: int | None = None
    flags: tuple[str, ...] = ()
    air_message: AirMessage | None = None


@dataclass(frozen=True, slots=True)
class DetectedObject:
    """One object in a frame.

    speed_mps is over ground (>= 0) along heading_deg (degrees clockwise from north); acceleration_mps2 is
    along the heading. Covariances are in local east/north (m^2 and (m/s)^2).
    """

    object_id: int
    object_class: ObjectClass
    position: Position
    class_confidence: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    acceleration_mps2: float | None = None
    size: Dimensions | None = None
    position_covariance: Covariance2D | None = None
    velocity_covariance: Covariance2D | None = None
    sensor_ids: tuple[str, ...] = ()
    measurement_time_unix_ms: int | None = None
    lane_id: int | None = None
    existence_probability: float | None = None
    """Probability (0..1) that the object is real, from the source tracker (SDSM / CPM objectConfidence)."""


@dataclass(frozen=True, slots=True)
class PerceptionFrame:
    """The objects one RSU or sensor saw at `time_unix_ms`."""

    source_id: str
    frame_sequence: int
    time_unix_ms: int
    objects: tuple[DetectedObject, ...]
    provenance: Provenance
    reference_position: Position | None = None
