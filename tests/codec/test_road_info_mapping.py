"""v1 RoadSideInfo -> J2735 TIM: the frame decodes with our TIM description and says what the v1 message says."""

from __future__ import annotations

import pytest
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2

from roadlink.codec import decode_frame, encode_frame
from roadlink.codec.errors import EncodeError
from roadlink.codec.j2735_road_info import road_side_info_to_tim
from roadlink.codec.j2735_tim import TIM_MESSAGE_ID
from roadlink.codec.lossless import encode_v1

START_MS = 1_704_153_600_000  # 2024-01-02T00:00:00Z: minute 1440 of the year


def sample_info() -> info_pb2.RoadSideInfo:
    position = common_pb2.Position(latitude_deg=39.9, longitude_deg=116.3, elevation_m=45.2)
    validity = common_pb2.Validity(start_time_unix_ms=START_MS, end_time_unix_ms=START_MS + 90 * 60_000 + 1)
    event = info_pb2.RoadEvent(
        event_id=300,
        event_type=769,
        code_system=info_pb2.CODE_SYSTEM_ITIS,
        position=position,
        radius_m=120.4,
        description="Stalled vehicle \u00e9",
        priority=9,
        validity=validity,
    )
    sign = info_pb2.RoadSign(sign_id=2, sign_type=38, code_system=info_pb2.CODE_SYSTEM_GB_5768, priority=3)
    return info_pb2.RoadSideInfo(
        source_id="rsu-1",
        message_count=130,
        time_unix_ms=START_MS,
        reference_position=common_pb2.Position(latitude_deg=39.91, longitude_deg=116.31),
        events=[event],
        signs=[sign],
    )


def test_events_and_signs_become_data_frames() -> None:
    frame = decode_frame(encode_frame({"messageId": TIM_MESSAGE_ID, "value": road_side_info_to_tim(sample_info())}))
    tim = frame["value"]
    assert (tim["msgCnt"], tim["timeStamp"]) == (2, 1440)
    event, sign = tim["dataFrames"]
    assert (event["frameType"], event["msgId"]) == ("advisory", ("furtherInfoID", (300).to_bytes(2, "big")))
    assert (event["startYear"], event["startTime"], event["durationTime"], event["priority"]) == (2024, 1440, 91, 7)
    (region,) = event["regions"]
    assert region["anchor"] == {"lat": 399000000, "long": 1163000000, "elevation": 452}
    assert region["description"][1]["circle"]["radius"] == 120
    assert event["content"] == ("advisory", [{"item": ("itis", 769)}, {"item": ("text", "Stalled vehicle ?")}])
    assert sign["frameType"] == "roadSignage"
    assert sign["msgId"][1]["position"] == {"lat": 399100000, "long": 1163100000}  # the reference position
    assert sign["durationTime"] == 32000  # no end: indefinite
    assert sign["content"] == ("advisory", [{"item": ("text", "GB5768 38")}])


def test_v1_road_side_info_without_air_message_encodes_as_tim_through_lossless() -> None:
    data = encode_v1(sample_info(), "j2735")
    assert decode_frame(data)["messageId"] == TIM_MESSAGE_ID


def test_a_message_without_items_or_positions_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="at least one"):
        road_side_info_to_tim(info_pb2.RoadSideInfo())
    with pytest.raises(EncodeError, match="without a position"):
        road_side_info_to_tim(info_pb2.RoadSideInfo(events=[info_pb2.RoadEvent(event_id=1)]))
