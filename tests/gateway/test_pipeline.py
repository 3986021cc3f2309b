"""Tests for gateway.pipeline: topic matching, routing to adapters, rejections counted by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import pytest
from v2x.roadside.v1 import perception_pb2
from v2x.vehicle.v1 import vehicle_pb2

from gateway.adapters.base import Adapter, MessageContext, Normalized, fixed
from gateway.adapters.registry import ADAPTERS
from gateway.pipeline import Pipeline, topic_matches
from gateway.settings import Route
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.domain.perception import PerceptionFrame, Provenance
from roadlink.domain.spatial import Position
from roadlink.domain.vehicle import VehicleState
from roadlink.samples import RADAR_DEVICE_ID, load_radar_recording

RECORDED = load_radar_recording()[0]
RADAR_ROUTE = Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84")
RECEIVE_MS = RECORDED.time_unix_ms + 35
"""Receipt 35 ms after the recorded source time, inside any sensible staleness bound."""
LIMIT = 1 << 20


class RecordingAdapter:
    """A fake adapter: remembers each context and returns one vehicle state per message."""

    def __init__(self) -> None:
        self.contexts: list[MessageContext] = []

    def __call__(self, payload: bytes, context: MessageContext) -> Sequence[Normalized]:
        self.contexts.append(context)
        return [VehicleState(payload, context.receive_time_unix_ms, Position(1.0, 2.0))]


def _radar_pipeline(max_payload_bytes: int = LIMIT) -> Pipeline:
    return Pipeline([RADAR_ROUTE], ADAPTERS, max_payload_bytes)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("rsu/a/radar/b", "rsu/a/radar/b", True),
        ("rsu/a/radar/b", "rsu/a/radar/c", False),
        ("rsu/+/radar/+", "rsu/N22/radar/radar0", True),
        ("rsu/+/radar/+", "rsu/N22/camera/cam0", False),
        ("rsu/+", "rsu/", True),
        ("rsu/+/radar", "rsu/a/radar/b", False),
        ("rsu/+/radar/+", "rsu/a/radar", False),
        ("rsu/a/radar/b", "rsu/a", False),
        ("rsu/a", "rsu/a/radar/b", False),
        ("rsu/#", "rsu/a/radar/b", True),
        ("rsu/#", "rsu", True),
        ("rsu/#", "obu/a", False),
        ("rsu/+/#", "rsu/a/radar/b", True),
        ("#", "rsu/a/radar/b", True),
        ("#", "anything", True),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_radar_payload_is_routed_to_the_radar_adapter() -> None:
    pipeline = _radar_pipeline()
    topic = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"

    items = pipeline.process(topic, RECORDED.payload, RECEIVE_MS)

    assert len(items) == 1
    field, message = items[0]
    assert field == "frames"
    assert isinstance(message, perception_pb2.PerceptionFrame)
    assert message.source_id == RADAR_DEVICE_ID
    assert message.time_unix_ms == RECORDED.time_unix_ms
    assert message.provenance.topic == topic
    assert list(message.provenance.sensor_ids) == ["radar0"]
    assert message.provenance.gateway_receive_time_unix_ms == RECEIVE_MS
    assert len(message.objects) > 0
    assert all(list(obj.sensor_ids) == ["radar0"] for obj in message.objects)


def test_source_and_sensor_ids_come_from_the_route_levels() -> None:
    pipeline = _radar_pipeline()

    (_, message) = pipeline.process("rsu/rsu-from-topic/radar/front", RECORDED.payload, RECEIVE_MS)[0]

    assert isinstance(message, perception_pb2.PerceptionFrame)
    assert message.source_id == "rsu-from-topic"
    assert list(message.provenance.sensor_ids) == ["front"]


def test_custom_levels_and_first_matching_route_wins() -> None:
    first, second = RecordingAdapter(), RecordingAdapter()
    routes = [
        Route(topic_filter="site/+/+/vehicle", adapter="first", source_level=2, sensor_level=1),
        Route(topic_filter="site/#", adapter="second", source_level=0, sensor_level=0),
    ]
    pipeline = Pipeline(routes, {"first": fixed(first), "second": fixed(second)}, LIMIT)

    pipeline.process("site/sensor-a/source-b/vehicle", b"\x01\x02", RECEIVE_MS)
    pipeline.process("site/other", b"\x03", RECEIVE_MS)

    assert first.contexts == [MessageContext("site/sensor-a/source-b/vehicle", "source-b", "sensor-a", RECEIVE_MS)]
    assert second.contexts == [MessageContext("site/other", "site", "site", RECEIVE_MS)]


def test_vehicle_states_go_to_the_vehicle_states_field() -> None:
    pipeline = Pipeline(
        [Route(topic_filter="obu/+/state/+", adapter="fake")], {"fake": fixed(RecordingAdapter())}, LIMIT
    )

    items = pipeline.process("obu/v1/state/s1", b"\xde\xad\xbe\xef", RECEIVE_MS)

    assert [field for field, _ in items] == ["vehicle_states"]
    message = items[0][1]
    assert isinstance(message, vehicle_pb2.VehicleState)
    assert message.temporary_id == b"\xde\xad\xbe\xef"


def test_unknown_topic_is_rejected() -> None:
    pipeline = _radar_pipeline()

    with pytest.raises(ValidationError) as caught:
        pipeline.process("rsu/x/camera/cam0", RECORDED.payload, RECEIVE_MS)

    assert caught.value.reason == "unknown_topic"


def test_too_large_payload_is_rejected_before_routing() -> None:
    pipeline = _radar_pipeline(max_payload_bytes=len(RECORDED.payload) - 1)

    with pytest.raises(ValidationError) as caught:
        pipeline.process("no/route/for/this", RECORDED.payload, RECEIVE_MS)

    assert caught.value.reason == "too_large"


def test_payload_at_the_limit_is_accepted() -> None:
    pipeline = _radar_pipeline(max_payload_bytes=len(RECORDED.payload))

    assert len(pipeline.process(f"rsu/{RADAR_DEVICE_ID}/radar/r0", RECORDED.payload, RECEIVE_MS)) == 1


def test_topic_with_too_few_levels_for_its_route_is_rejected() -> None:
    adapter = RecordingAdapter()
    pipeline = Pipeline([Route(topic_filter="rsu/#", adapter="fake")], {"fake": fixed(adapter)}, LIMIT)

    with pytest.raises(ValidationError) as caught:
        pipeline.process("rsu/only-source", b"{}", RECEIVE_MS)

    assert caught.value.reason == "unknown_topic"
    assert adapter.contexts == []


def test_adapter_errors_propagate_with_their_reason() -> None:
    pipeline = _radar_pipeline()

    with pytest.raises(ValidationError) as caught:
        pipeline.process("rsu/a/radar/b", b"not json", RECEIVE_MS)

    assert caught.value.reason == "not_json"


def test_stats_count_messages_items_objects_and_rejections_by_reason() -> None:
    pipeline = _radar_pipeline(max_payload_bytes=len(RECORDED.payload))
    good_topic = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
    attempts = [
        ("rsu/a/camera/b", RECORDED.payload),
        ("other", b"{}"),
        (good_topic, RECORDED.payload + b" "),
        (good_topic, b"not json"),
    ]
    for topic, payload in attempts:
        with pytest.raises(ValidationError):
            pipeline.process(topic, payload, RECEIVE_MS)
    (_, frame) = pipeline.process(good_topic, RECORDED.payload, RECEIVE_MS)[0]

    assert isinstance(frame, perception_pb2.PerceptionFrame)
    assert pipeline.stats.messages_in == 5
    assert pipeline.stats.items_out == 1
    assert pipeline.stats.objects_out == len(frame.objects)
    assert pipeline.stats.rejected == Counter({"unknown_topic": 2, "too_large": 1, "not_json": 1})


def test_route_options_reach_the_adapter_factory() -> None:
    built: list[Mapping[str, object]] = []

    def factory(options: Mapping[str, object]) -> Adapter:
        built.append(options)
        return RecordingAdapter()

    routes = [
        Route(topic_filter="a/+/b/+", adapter="configurable", options={"pose": [1.0, 2.0]}),
        Route(topic_filter="c/+/d/+", adapter="configurable"),
    ]
    Pipeline(routes, {"configurable": factory}, LIMIT)

    assert built == [{"pose": [1.0, 2.0]}, {}]


def test_options_for_an_adapter_without_options_are_a_configuration_error() -> None:
    routes = [Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84", options={"unexpected": 1})]

    with pytest.raises(ConfigurationError):
        Pipeline(routes, ADAPTERS, LIMIT)


def test_unknown_adapter_name_is_a_configuration_error() -> None:
    routes = [RADAR_ROUTE, Route(topic_filter="obu/#", adapter="no_such_adapter")]

    with pytest.raises(ConfigurationError, match="no_such_adapter"):
        Pipeline(routes, ADAPTERS, LIMIT)


def test_a_resent_frame_number_is_a_duplicate_even_when_reserialized() -> None:
    """A source that numbers its frames may resend one with other bytes: same number and time, same frame."""

    def adapter(payload: bytes, context: MessageContext) -> list[PerceptionFrame]:
        counter, time_ms = (int(part) for part in payload.split(b",")[:2])
        provenance = Provenance(context.source_id, time_ms, sensor_ids=(context.sensor_id,))
        return [PerceptionFrame(context.source_id, counter, time_ms, (), provenance)]

    pipeline = Pipeline([Route(topic_filter="rsu/+/lidar/+", adapter="numbered")], {"numbered": fixed(adapter)}, 1024)
    now = 1_700_000_000_000
    topic = "rsu/rsu-1/lidar/lidar0"
    first = pipeline.process(topic, f"7,{now}".encode(), now)
    again = pipeline.process(topic, f"7,{now}, ".encode(), now)  # other bytes, same frame number and time
    other = pipeline.process(topic, f"8,{now + 100}".encode(), now + 100)
    assert (len(first), len(again), len(other)) == (1, 0, 1)
    assert pipeline.stats.duplicates == 1
