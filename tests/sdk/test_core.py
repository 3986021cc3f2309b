"""Pure parts of the SDK core: options, tokens, TLS settings, retry budget, error translation, area following."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import grpc
import pytest
from grpc import aio
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.sdk import (
    Circle,
    ConnectionOptions,
    MovementEvent,
    MovementPhase,
    MovementState,
    Position,
    ReconnectPolicy,
    ServiceError,
    SignalPhaseAndTiming,
    Situation,
    SituationFeed,
    StatusCode,
    SyncVehicleClient,
    TlsCredentials,
    VehicleClient,
    VehicleState,
)
from roadlink.sdk.core import RetryBudget, translate_error
from roadlink.sdk.situation import situation_from_response
from roadlink.wire.backoff import Backoff
from roadlink.wire.convert import situation_to_proto

HOME = Position(39.0742, 115.9325)
OWN = b"\x0a\x00\x00\x01"


def north_of(position: Position, metres: float) -> Position:
    return Position(position.latitude_deg + metres / 111_195.0, position.longitude_deg)


def unavailable() -> ServiceError:
    return ServiceError(StatusCode.UNAVAILABLE, "node restarting")


def test_retry_budget_backs_off_then_gives_up_and_resets_on_success() -> None:
    policy = ReconnectPolicy(max_attempts=3, initial_backoff_s=0.1, max_backoff_s=0.3)
    budget = RetryBudget(policy)

    delays = [budget.failed(unavailable()) for _ in range(3)]
    with pytest.raises(ServiceError) as raised:
        budget.failed(unavailable())

    assert [d <= ceiling for d, ceiling in zip(delays, (0.1, 0.2, 0.3), strict=True)] == [True] * 3
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert "gave up after 3 reconnect attempts" in raised.value.message
    assert budget.succeeded() is True
    assert budget.succeeded() is False
    assert budget.failures == 0


@pytest.mark.parametrize(
    "code", [StatusCode.UNAUTHENTICATED, StatusCode.INVALID_ARGUMENT, StatusCode.PERMISSION_DENIED]
)
def test_permanent_codes_are_raised_at_once(code: StatusCode) -> None:
    error = ServiceError(code, "no")

    with pytest.raises(ServiceError) as raised:
        RetryBudget(ReconnectPolicy()).failed(error)

    assert raised.value is error


def test_reconnect_policy_validates_and_maps_to_the_shared_backoff() -> None:
    policy = ReconnectPolicy(max_attempts=4, initial_backoff_s=0.2, max_backoff_s=3.0, backoff_factor=1.5)

    assert policy.delay_s(2, random.Random(7)) == Backoff(0.2, 3.0, 1.5).delay_s(2, random.Random(7))
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=-1)
    with pytest.raises(ValueError, match="initial_backoff_s"):
        ReconnectPolicy(initial_backoff_s=2.0, max_backoff_s=1.0)


def test_token_metadata_plain_rotating_and_absent() -> None:
    tokens = iter(["first", "second"])
    rotating = ConnectionOptions("127.0.0.1:1", access_token=lambda: next(tokens))

    assert ConnectionOptions("127.0.0.1:1").metadata() == ()
    assert ConnectionOptions("127.0.0.1:1", access_token="abc").metadata() == (("authorization", "Bearer abc"),)
    assert [rotating.metadata(), rotating.metadata()] == [
        (("authorization", "Bearer first"),),
        (("authorization", "Bearer second"),),
    ]


@pytest.mark.parametrize("token", ["", "a\r\nx-evil: 1", " padded "])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="access_token"):
        ConnectionOptions("127.0.0.1:1", access_token=token)


def test_options_hide_secrets_and_set_channel_arguments(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"CA")
    (tmp_path / "car.pem").write_bytes(b"CERT")
    (tmp_path / "car.key").write_bytes(b"KEY")
    tls = TlsCredentials.from_files(
        tmp_path / "ca.pem", tmp_path / "car.pem", tmp_path / "car.key", server_name="node.example"
    )
    options = ConnectionOptions("10.0.0.1:443", tls=tls, access_token="secret-token")
    arguments = dict(options.channel_options())

    assert (tls.root_certificates, tls.certificate_chain, tls.private_key) == (b"CA", b"CERT", b"KEY")
    assert "KEY" not in repr(tls)
    assert "secret-token" not in repr(options)
    assert arguments["grpc.ssl_target_name_override"] == "node.example"
    assert arguments["grpc.initial_reconnect_backoff_ms"] == 50
    with pytest.raises(ValueError, match="both or neither"):
        TlsCredentials(certificate_chain=b"CERT")


def test_both_clients_share_the_core_options() -> None:
    client = VehicleClient("127.0.0.1:1", access_token="s3cret-token", connect_timeout_s=2.0)
    sync = SyncVehicleClient.with_options(client.options)

    assert sync.options == client.options
    assert sync.target == "127.0.0.1:1"
    assert "s3cret" not in repr(sync) + repr(sync.options)
    with pytest.raises(ValueError, match="connect_timeout_s"):
        VehicleClient("127.0.0.1:1", connect_timeout_s=0.0)


async def test_translate_error_is_the_one_mapping() -> None:
    rpc = aio.AioRpcError(grpc.StatusCode.UNAUTHENTICATED, aio.Metadata(), aio.Metadata(), details="bad token")
    own = ServiceError(StatusCode.NOT_FOUND, "x")

    assert (translate_error(rpc).code, translate_error(rpc).message) == (StatusCode.UNAUTHENTICATED, "bad token")
    assert translate_error(TimeoutError()).code is StatusCode.DEADLINE_EXCEEDED
    assert translate_error(asyncio.InvalidStateError("finished")).code is StatusCode.UNAVAILABLE
    assert translate_error(own) is own


def unopened_feed(**options: object) -> SituationFeed:
    def never() -> object:
        raise AssertionError("this test opens no stream")

    return SituationFeed(never, Circle(HOME, 400.0), policy=ReconnectPolicy(), **options)  # type: ignore[arg-type]


def test_area_moves_only_beyond_the_threshold_and_only_for_the_followed_vehicle() -> None:
    feed = unopened_feed(vehicle_id=OWN)
    other = b"\x0b\x00\x00\x01"

    assert feed.observe(VehicleState(OWN, 0, north_of(HOME, 99.0))) is False  # threshold: radius/4 = 100 m
    assert feed.observe(VehicleState(other, 0, north_of(HOME, 900.0))) is False
    assert feed.observe(VehicleState(OWN, 0, north_of(HOME, 101.0))) is True
    assert feed.area == Circle(north_of(HOME, 101.0), 400.0)
    assert feed.move_to(north_of(HOME, 102.0)) is False
    assert feed.move_to(north_of(HOME, 102.0), force=True) is True
    assert feed.moves == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [({"rate_hz": 51.0}, "rate_hz"), ({"move_threshold_m": -1.0}, "move_threshold_m"), ({"max_buffered": 0}, "max")],
)
def test_feed_options_are_validated(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        unopened_feed(**options)


def test_situation_carries_signal_states_from_the_wire() -> None:
    spat = SignalPhaseAndTiming(4711, 1_000, (MovementState(2, (MovementEvent(MovementPhase.STOP_AND_REMAIN, 900),)),))
    situation = Situation(1_000, Circle(HOME, 400.0), (), sequence=3, signal_timings=(spat,))
    message = situation_to_proto(situation)

    decoded = situation_from_response(vs_pb2.WatchSituationResponse(update=message))

    assert decoded == situation
    assert decoded.signal_of(4711) == spat
    assert decoded.signal_of(1) is None
    assert decoded.track_of(OWN) is None
