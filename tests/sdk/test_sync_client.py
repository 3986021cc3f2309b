"""The sync client against a real CloudNode (run on its own loop thread, since the client blocks)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import grpc
import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.sdk import Circle, Position, ServiceError, Situation, StatusCode, SyncSituationFeed, SyncVehicleClient
from tests.sdk.conftest import MAX_AGE_MS, state
from tests.sdk.servers import BackgroundServer, ScriptedServicer, TestServer
from tests.sdk.test_async_client import AWAY, HOME, NEAR_AWAY, OWN, RADIUS_M, dead_port

pytestmark = pytest.mark.integration

WAIT_S = 10.0
MAX_UPDATES = 200
"""Updates read before a wait gives up (the node sends at least one per second)."""


@pytest.fixture
def node() -> Iterator[BackgroundServer]:
    with BackgroundServer(CloudNode(CloudSettings.load(listen="127.0.0.1:0", max_age_ms=MAX_AGE_MS))) as server:
        yield server


def first_matching(feed: SyncSituationFeed, accept: Callable[[Situation], bool]) -> Situation:
    for _, situation in zip(range(MAX_UPDATES), feed, strict=False):
        if accept(situation):
            return situation
    raise AssertionError(f"no matching update in {MAX_UPDATES} updates")


def moved_away(situation: Situation) -> bool:
    return situation.area == Circle(AWAY, RADIUS_M) and situation.track_of(NEAR_AWAY) is not None


def sdk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "roadlink-sdk-loop"]


def test_publish_and_see_own_vehicle_then_follow_it(node: BackgroundServer) -> None:
    with SyncVehicleClient(node.target) as others:
        others.publish_state(state(NEAR_AWAY, AWAY))
    with SyncVehicleClient(node.target) as client:
        client.publish_state(state(OWN, HOME, speed_mps=3.0))
        with client.follow_situation(RADIUS_M, timeout_s=WAIT_S) as feed:
            here = first_matching(feed, lambda s: s.track_of(OWN) is not None)
            client.publish_state(state(OWN, AWAY))
            there = first_matching(
                feed, lambda s: s.area == Circle(AWAY, RADIUS_M) and s.track_of(NEAR_AWAY) is not None
            )
            moves = feed.moves
        stats = client.publish_stats
    own = here.track_of(OWN)
    assert own is not None
    assert (own.position, own.speed_mps) == (HOME, 3.0)
    assert here.track_of(NEAR_AWAY) is None
    assert there.track_of(OWN) is not None
    assert moves == 1
    assert stats.states_sent >= 2
    assert sdk_threads() == []  # close stopped the loop thread


def test_iteration_ends_after_close(node: BackgroundServer) -> None:
    with SyncVehicleClient(node.target) as client:
        feed = client.follow_situation(RADIUS_M, center=HOME)
        first = feed.next(timeout_s=WAIT_S)
        feed.close()
        rest = list(feed)
    assert isinstance(first, Situation)
    assert rest == []


def test_next_times_out_with_deadline_exceeded_and_the_feed_stays_usable() -> None:
    with (
        BackgroundServer(TestServer(ScriptedServicer([]))) as silent,
        SyncVehicleClient(silent.target) as client,
        client.follow_situation(RADIUS_M, center=HOME, idle_timeout_s=60.0) as feed,
    ):
        with pytest.raises(ServiceError) as raised:
            feed.next(timeout_s=0.2)
        with pytest.raises(ServiceError):
            feed.next(timeout_s=0.05)
    assert raised.value.code is StatusCode.DEADLINE_EXCEEDED


def test_dead_port_is_service_error_and_leaves_no_thread() -> None:
    client = SyncVehicleClient(f"127.0.0.1:{dead_port()}", connect_timeout_s=0.3)
    with pytest.raises(ServiceError) as raised:
        client.connect()
    assert raised.value.code is StatusCode.UNAVAILABLE
    assert not isinstance(raised.value, grpc.RpcError)
    assert not client.connected
    assert sdk_threads() == []


def test_calls_before_connect_are_refused() -> None:
    client = SyncVehicleClient("127.0.0.1:1")
    with pytest.raises(RuntimeError, match="not connected"):
        client.publish_state(state(OWN, HOME))
    with pytest.raises(RuntimeError, match="not connected"):
        client.follow_situation(RADIUS_M, center=Position(0.0, 0.0))
    client.close()  # closing an unconnected client is a no-op
