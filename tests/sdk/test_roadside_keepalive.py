"""Roadside feed liveness: a quiet node is kept, a hung one is left and reopened.

A real RoadsideNode (a real CloudNode behind it, both on 127.0.0.1 port 0) serves a map file and nothing
else: after the map it has nothing new to tell, so it sends a keepalive every second. The SDK feed counts
the keepalives and keeps the stream. When the node hangs (its event loop sleeps, as a stopped process: the
connection stays open but nothing arrives), the feed's default idle timeout notices the silence and reopens
the stream; once the node answers again the new stream starts with the map.
"""

from __future__ import annotations

import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.sdk import RoadsideUpdate, VehicleClient
from roadlink.sdk.roadside_feed import ROADSIDE_IDLE_TIMEOUT_S
from roadside.node import RoadsideNode
from tests.roadside.test_local_fusion import ORIGIN
from tests.sdk.conftest import WAIT_S, eventually
from tests.sdk.servers import BackgroundServer
from tests.sdk.test_roadside_feed import FAST, collect, roadside_settings

pytestmark = pytest.mark.integration

QUIET_IDLE_TIMEOUT_S = 2.5
"""Shorter than the default to keep the test short, still longer than two keepalive periods."""


def has_map(got: list[RoadsideUpdate]) -> bool:
    return any(u.map is not None for u in got)


async def test_a_quiet_node_is_kept_by_its_keepalives() -> None:
    async with (
        CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud,
        RoadsideNode(roadside_settings(cloud.port)) as rsu,
        VehicleClient(f"127.0.0.1:{cloud.port}") as client,
        client.follow_roadside(f"127.0.0.1:{rsu.port}", position=ORIGIN, idle_timeout_s=QUIET_IDLE_TIMEOUT_S) as feed,
    ):
        got = await collect(feed, has_map)
        # three keepalives after the map: silent for longer than the idle timeout but for the keepalives
        await eventually(lambda: feed.keepalives >= 3 or None)
        reconnects, watchers, keepalives = feed.reconnects, rsu.hub.watchers, feed.keepalives
    assert [u.map is not None for u in got] == [True]  # keepalives are never delivered
    assert (reconnects, watchers) == (0, 1)
    assert keepalives >= 3


async def test_a_hung_node_is_left_after_the_default_idle_timeout_and_the_stream_reopened() -> None:
    with (
        BackgroundServer(CloudNode(CloudSettings.load(listen="127.0.0.1:0"))) as cloud,
        BackgroundServer(RoadsideNode(roadside_settings(cloud.server.port))) as rsu,
    ):
        async with (
            VehicleClient(cloud.target, reconnect=FAST) as client,
            client.follow_roadside(rsu.target, position=ORIGIN) as feed,
        ):
            before = await collect(feed, has_map)
            rsu.freeze(ROADSIDE_IDLE_TIMEOUT_S + 2.0)  # longer than the idle timeout: the feed gives up on it
            after = await collect(feed, has_map, timeout_s=ROADSIDE_IDLE_TIMEOUT_S + WAIT_S)
            reconnects = feed.reconnects
    assert has_map(before)
    assert has_map(after)  # only a new stream sends the map again
    assert reconnects == 1
