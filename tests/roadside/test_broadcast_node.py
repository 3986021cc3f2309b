"""The roadside node's radio output: what it serves to vehicles also goes on the air, in the configured standard.

A real RoadsideNode (real gRPC), a gateway uplink into it and a real Mosquitto as the radio's broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest
from v2x.roadside.v1 import signal_pb2

from roadlink.codec import csae
from roadlink.codec.lossless import decode_v1
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ConfigurationError
from roadlink.wire.uplink import BatchUplink
from roadside.broadcast import MemoryRadioSink, MqttRadioSink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.broker import MosquittoBroker
from tests.codec.test_csae_golden import frames as csae_frames

MAP_FILE = Path(__file__).resolve().parents[1] / "data" / "maps" / "intersection_1201.json"
WAIT_S = 20.0


def _settings(**overrides: object) -> RoadsideSettings:
    base: dict[str, object] = {"listen": "127.0.0.1:0", "cloud_target": "127.0.0.1:9", "heartbeat_s": 60.0}
    return RoadsideSettings.model_validate(base | overrides)


@contextlib.asynccontextmanager
async def _gateway(port: int) -> AsyncIterator[BatchUplink]:
    uplink = BatchUplink(f"127.0.0.1:{port}", "gw-1", linger_s=0.001)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _csae_spat() -> tuple[bytes, signal_pb2.SignalPhaseAndTiming]:
    (data,) = [f for name, f in csae_frames() if name.startswith("SPAT")]
    (spat,) = decode_v1("csae53", data, now_unix_ms())
    assert isinstance(spat, signal_pb2.SignalPhaseAndTiming)
    return data, spat


async def test_signal_timing_from_a_csae_rsu_goes_back_on_the_air_byte_exact(mosquitto: MosquittoBroker) -> None:
    data, spat = _csae_spat()
    url = urlsplit(mosquitto.url)
    settings = _settings(broadcast_standard="csae", broadcast_mqtt_url=mosquitto.url, node_id="rsu-9")
    async with aiomqtt.Client(url.hostname or "", url.port or 1883) as radio:
        await radio.subscribe("rsu/rsu-9/v2x/tx/#")
        async with RoadsideNode(settings) as node, _gateway(node.port) as gateway:
            assert isinstance(node.radio_sink, MqttRadioSink)
            await gateway.send("signal_timings", spat, timeout_s=WAIT_S)
            async with asyncio.timeout(WAIT_S):
                message = await anext(aiter(radio.messages))
    assert message.topic.value == "rsu/rsu-9/v2x/tx/spat"
    assert message.payload == data
    assert node.radio is not None
    assert node.radio.stats.frames == 1


async def test_the_nodes_own_map_is_encoded_from_its_v1_fields() -> None:
    settings = _settings(broadcast_standard="csae", map_files=[MAP_FILE])
    node = RoadsideNode(settings)
    assert isinstance(node.radio_sink, MemoryRadioSink)
    ((kind, frame),) = node.radio_sink.frames
    alternative, value = csae.decode_frame(frame)
    assert (kind, alternative) == ("map", "mapFrame")
    assert value["nodes"][0]["id"]["id"] == 1201


def test_broadcast_off_has_no_radio_and_a_bad_broker_url_is_refused() -> None:
    node = RoadsideNode(_settings())
    assert (node.radio, node.radio_sink) == (None, None)
    with pytest.raises(ConfigurationError, match="broadcast_mqtt_url"):
        RoadsideNode(_settings(broadcast_standard="j2735", broadcast_mqtt_url="http://x"))


def test_the_encoder_re_sends_a_j2735_spat_it_received_byte_exact_and_counts_what_it_cannot_encode() -> None:
    from v2x.roadside.v1 import info_pb2

    from roadlink.wire.convert import signal_from_proto
    from roadside.broadcast import BroadcastEncoder, RadioBroadcaster
    from tests.codec import captures

    data = captures.carma_hex("SPaT_2")
    decoded = decode_v1("j2735", data, 1_700_000_000_000)
    assert all(isinstance(m, signal_pb2.SignalPhaseAndTiming) for m in decoded)
    signals = [signal_from_proto(m) for m in decoded if isinstance(m, signal_pb2.SignalPhaseAndTiming)]
    assert BroadcastEncoder("j2735").spat(signals) == data
    assert BroadcastEncoder("csae").spat(signals) != data  # another standard: from the v1 fields
    sink = MemoryRadioSink(capacity=1)
    radio = RadioBroadcaster(BroadcastEncoder("j2735"), sink)
    radio.road_side_info(info_pb2.RoadSideInfo())
    assert (radio.stats.frames, radio.stats.encode_errors, len(sink.frames)) == (0, {"rsi": 1}, 0)


def test_road_side_info_the_node_serves_goes_on_a_j2735_radio_as_a_tim() -> None:
    from roadlink.codec import decode_frame
    from roadside.downlink import road_side_info_item
    from tests.codec.test_road_info_mapping import sample_info

    node = RoadsideNode(_settings(broadcast_standard="j2735"))
    assert isinstance(node.radio_sink, MemoryRadioSink)
    node.hub.publish_item(road_side_info_item(sample_info(), received_unix_ms=now_unix_ms(), default_validity_s=60.0))
    ((kind, frame),) = node.radio_sink.frames
    assert kind == "rsi"
    assert decode_frame(frame)["messageId"] == 31
