"""The roadside node's cloud downlink uses the uplink's TLS / mTLS settings (a mutual-TLS cloud node).

The cloud node's port takes only TLS clients with a certificate of the throwaway CA (see
`tests/roadside/test_tls.py`), so an advisory reaches the node's vehicles only if the downlink presents the
configured client certificate and verifies the cloud's against `cloud_ca_file`.
"""

from __future__ import annotations

import asyncio

import pytest
from v2x.cloud.v1 import situation_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import area_to_proto
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.roadside.test_tls import Pki, pki  # noqa: F401 - the module-scoped CA fixture

pytestmark = pytest.mark.integration

WAIT_S = 20.0
CENTRE = Position(39.0742, 115.9325)


def _advisory(advisory_id: str) -> situation_pb2.Advisory:
    advisory = situation_pb2.Advisory(
        advisory_id=advisory_id, type=situation_pb2.ADVISORY_TYPE_ROAD_EVENT, time_unix_ms=now_unix_ms()
    )
    advisory.zone.CopyFrom(area_to_proto(Circle(CENTRE, 100.0)))
    advisory.validity.end_time_unix_ms = now_unix_ms() + 60_000
    return advisory


async def test_cloud_downlink_reaches_a_mutual_tls_cloud_with_the_uplink_tls_settings(pki: Pki) -> None:  # noqa: F811
    cloud_settings = CloudSettings.load(
        listen="127.0.0.1:0", tls_cert_file=pki.server_cert, tls_key_file=pki.server_key, tls_client_ca_file=pki.ca
    )
    async with CloudNode(cloud_settings) as cloud:
        cloud.downlink_board.issue_advisory(_advisory("tls-advisory"))
        settings = RoadsideSettings.load(
            node_id="rsu-tls",
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            latitude_deg=CENTRE.latitude_deg,
            longitude_deg=CENTRE.longitude_deg,
            cloud_downlink=True,
            cloud_ca_file=pki.ca,
            cloud_client_cert_file=pki.client_cert,
            cloud_client_key_file=pki.client_key,
            heartbeat_s=60.0,
        )
        async with RoadsideNode(settings) as node:
            assert node.cloud_downlink is not None
            watcher = node.hub.join(CENTRE)
            async with asyncio.timeout(WAIT_S):
                response = await anext(r async for r in node.hub.responses(watcher) if r.WhichOneof("content"))
            received = node.cloud_downlink.items_received

    assert response.advisory.advisory_id == "tls-advisory"
    assert received == 1
