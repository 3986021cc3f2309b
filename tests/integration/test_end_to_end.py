"""The whole path on real parts: MQTT -> gateway -> roadside node -> cloud node -> SDK subscriber."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import aiomqtt
import pytest

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.situation import SituationUpdate
from roadlink.domain.spatial import Circle, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.replay import restamp_payload
from roadlink.samples import RADAR_DEVICE_ID, load_radar_recording
from roadlink.sdk import ServiceError, StatusCode
from roadlink.sdk.client import SituationSubscription, VehicleClient
from tests.integration.conftest import Tiers

pytestmark = pytest.mark.integration

TOPIC = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
AREA = Circle(Position(39.0742, 115.9325), 5_000.0)


async def _first_update(
    subscription: SituationSubscription, accept: Callable[[SituationUpdate], bool], timeout_s: float = 10.0
) -> SituationUpdate:
    async with asyncio.timeout(timeout_s):
        async for update in subscription:
            if accept(update):
                return update
    raise AssertionError("subscription ended")


def _radar_tracks_at(time_unix_ms: int) -> Callable[[SituationUpdate], bool]:
    return lambda u: any(RADAR_DEVICE_ID in t.source_ids and t.time_unix_ms == time_unix_ms for t in u.tracks)


async def test_recorded_positions_arrive_unchanged(tiers: Tiers) -> None:
    recording = load_radar_recording()[:12]
    async with (
        VehicleClient(tiers.cloud_target) as client,
        aiomqtt.Client(tiers.broker.host, tiers.broker.port) as mqtt,
    ):
        subscription = await client.situation(AREA, rate_hz=20.0)
        for message in recording:
            stamp = now_unix_ms()
            await mqtt.publish(TOPIC, restamp_payload(message.payload, stamp), qos=1)
            update = await _first_update(subscription, _radar_tracks_at(stamp))
            sent = {(t["latitude"], t["longitude"]) for t in json.loads(message.payload)["targets"]}
            got = {
                (t.position.latitude_deg, t.position.longitude_deg)
                for t in update.tracks
                if RADAR_DEVICE_ID in t.source_ids and t.time_unix_ms == stamp
            }
            assert got == sent
        subscription.cancel()
    assert tiers.cloud.sink.frames == len(recording)
    assert tiers.gateway.pipeline.stats.objects_out == sum(len(json.loads(m.payload)["targets"]) for m in recording)


async def test_malformed_message_is_dead_lettered_and_stream_goes_on(tiers: Tiers) -> None:
    good = load_radar_recording()[0]
    out_of_range = json.loads(good.payload)
    out_of_range["targets"][0]["latitude"] = 91.0
    bad_payloads = [b"{not json", json.dumps(out_of_range).encode(), b'{"targets": "x"}']
    async with (
        VehicleClient(tiers.cloud_target) as client,
        aiomqtt.Client(tiers.broker.host, tiers.broker.port) as mqtt,
    ):
        await mqtt.subscribe("deadletter/#", qos=1)
        subscription = await client.situation(AREA, rate_hz=20.0)
        for payload in bad_payloads:
            await mqtt.publish(TOPIC, payload, qos=1)
        stamp = now_unix_ms()
        await mqtt.publish(TOPIC, restamp_payload(good.payload, stamp), qos=1)
        await _first_update(subscription, _radar_tracks_at(stamp))
        records = []
        async with asyncio.timeout(10):
            async for message in mqtt.messages:
                records.append(json.loads(message.payload))
                if len(records) == len(bad_payloads):
                    break
        subscription.cancel()
    assert [r["reason"] for r in records] == ["not_json", "out_of_range", "wrong_shape"]
    assert all(r["topic"] == TOPIC for r in records)
    assert [base64.b64decode(r["payload_base64"]) for r in records] == bad_payloads
    assert tiers.gateway.source.dead_lettered == 3
    assert tiers.cloud.sink.frames == 1


async def test_vehicle_state_reaches_the_situation_with_its_id(tiers: Tiers) -> None:
    vehicle_id = bytes.fromhex("c0ffee01")
    async with VehicleClient(tiers.cloud_target) as client:
        subscription = await client.situation(AREA, rate_hz=20.0)
        publisher = client.publisher()
        state = VehicleState(
            temporary_id=vehicle_id,
            time_unix_ms=now_unix_ms(),
            position=Position(39.0745, 115.9326, 12.5),
            speed_mps=8.5,
            heading_deg=271.25,
        )
        await publisher.publish(state)
        update = await _first_update(
            subscription, lambda u: any(t.vehicle_temporary_id == vehicle_id for t in u.tracks)
        )
        result = await publisher.close()
        subscription.cancel()
    track = next(t for t in update.tracks if t.vehicle_temporary_id == vehicle_id)
    assert (track.position, track.speed_mps, track.heading_deg) == (state.position, 8.5, 271.25)
    assert result.accepted == 1


async def test_situation_area_without_shape_is_invalid_argument(tiers: Tiers) -> None:
    async with VehicleClient(tiers.cloud_target) as client:
        subscription = await client.situation(Circle(Position(39.0, 115.9), -1.0))
        with pytest.raises(ServiceError) as raised:
            await _first_update(subscription, lambda _: False)
    assert raised.value.code is StatusCode.INVALID_ARGUMENT


async def test_two_target_sets_with_one_timestamp_are_both_visible(tiers: Tiers) -> None:
    """The recording sends two different target sets per radar cycle; neither may hide the other."""
    first, second = load_radar_recording()[:2]
    stamp = now_unix_ms()
    expected = {(t["latitude"], t["longitude"]) for m in (first, second) for t in json.loads(m.payload)["targets"]}
    async with (
        VehicleClient(tiers.cloud_target) as client,
        aiomqtt.Client(tiers.broker.host, tiers.broker.port) as mqtt,
    ):
        subscription = await client.situation(AREA, rate_hz=20.0)
        for message in (first, second):
            await mqtt.publish(TOPIC, restamp_payload(message.payload, stamp), qos=1)

        def positions(update: SituationUpdate) -> set[tuple[float, float]]:
            return {(t.position.latitude_deg, t.position.longitude_deg) for t in update.tracks}

        update = await _first_update(subscription, lambda u: positions(u) >= expected)
        subscription.cancel()
    assert len(update.tracks) == len(expected) == 45
