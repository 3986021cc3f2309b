"""The air-side original a v1 message carries (`Provenance.air_message`), read the same way from either form.

Encoders take it as their template so that decode -> v1 -> encode gives back the original octets (see
`roadlink.codec.lossless`). Provenance reaches them as the domain dataclass or as the v1 protobuf message.
"""

from __future__ import annotations

from v2x.common.v1 import common_pb2

from roadlink.domain.perception import AirMessage, Provenance

__all__ = ["kept_air_message"]


def kept_air_message(provenance: Provenance | common_pb2.Provenance | None, standard: str) -> AirMessage | None:
    """The kept original when it is a message of `standard` ("j2735", "csae53", "etsi"), else None."""
    if isinstance(provenance, common_pb2.Provenance):
        if not provenance.HasField("air_message"):
            return None
        air = provenance.air_message
        kept: AirMessage | None = AirMessage(air.standard, air.message_id, bytes(air.uper))
    else:
        kept = None if provenance is None else provenance.air_message
    return kept if kept is not None and kept.standard == standard else None
