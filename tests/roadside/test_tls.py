"""TLS and mutual TLS on the roadside node's server and its cloud uplink, with a throwaway CA.

The `openssl` binary makes a CA, a server certificate for 127.0.0.1 and a client certificate (EC P-256,
valid one day) in a temporary directory. Real gRPC servers on 127.0.0.1 port 0 check that: a TLS uplink
delivers, a plaintext client is refused by a TLS port, and a port with a client CA (mTLS) refuses a TLS
client without a certificate or with one from another CA.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc
from v2x.vehicle.v1 import vehicle_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.errors import ConfigurationError
from roadlink.wire.publish_server import PublishServicer, batch_item_count
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServerTls, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink, channel_credentials
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

WAIT_S = 20.0
REFUSED_WITHIN_S = 5.0
STATES = 50


@dataclass(frozen=True, slots=True)
class Pki:
    """PEM files: the CA, a server pair for 127.0.0.1/localhost, a client pair, and a foreign CA's client."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    foreign_client_cert: Path
    foreign_client_key: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def _make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", f"/CN={name}", "-keyout", key, "-out", cert,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def _make_leaf(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    cert, key, csr, ext = (directory / f"{name}.{suffix}" for suffix in ("pem", "key", "csr", "ext"))
    ext.write_text(extensions)
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", f"/CN={name}", "-keyout", key, "-out", csr,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-days", "1",
        "-out", cert, "-extfile", ext,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is part of the test image
        pytest.fail("the openssl binary is needed to make test certificates")
    directory = tmp_path_factory.mktemp("pki")
    ca, foreign_ca = _make_ca(directory, "test-ca"), _make_ca(directory, "foreign-ca")
    server = _make_leaf(
        directory,
        "server",
        ca,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    client_ext = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n"
    client = _make_leaf(directory, "client", ca, client_ext)
    foreign = _make_leaf(directory, "foreign-client", foreign_ca, client_ext)
    return Pki(ca[0], *server, *client, *foreign)


class CountingSink:
    """A cloud stand-in: counts the items it accepts."""

    def __init__(self) -> None:
        self.items = 0

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.items += batch_item_count(batch)
        return ()


@contextlib.asynccontextmanager
async def _publish_server(tls: ServerTls | None, sink: CountingSink) -> AsyncIterator[RunningServer]:
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0", tls=tls)
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def _running(uplink: BatchUplink) -> AsyncIterator[BatchUplink]:
    task = asyncio.create_task(uplink.run(), name="test-tls-uplink")
    try:
        yield uplink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _send_states(uplink: BatchUplink, count: int) -> None:
    for index in range(count):
        await uplink.send("vehicle_states", vehicle_pb2.VehicleState(temporary_id=index.to_bytes(4, "big")))


async def _health(channel: aio.Channel) -> health_pb2.HealthCheckResponse.ServingStatus.ValueType:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=REFUSED_WITHIN_S, wait_for_ready=False)
    return response.status


async def _health_code(channel: aio.Channel) -> grpc.StatusCode:
    """OK when the health check passes, else the call's status code."""
    try:
        await _health(channel)
    except aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def _tls_channel(port: int, pki: Pki, *, cert: Path | None = None, key: Path | None = None) -> aio.Channel:
    credentials = channel_credentials(pki.ca, cert, key)
    assert credentials is not None
    return aio.secure_channel(f"127.0.0.1:{port}", credentials)


async def test_tls_uplink_delivers_and_plaintext_client_is_refused(pki: Pki) -> None:
    sink = CountingSink()
    async with _publish_server(ServerTls(pki.server_cert, pki.server_key), sink) as server:
        uplink = BatchUplink(f"127.0.0.1:{server.port}", "gw-tls", ca_file=pki.ca)
        async with _running(uplink):
            await _send_states(uplink, STATES)
            assert await uplink.flush(WAIT_S)
        async with aio.insecure_channel(f"127.0.0.1:{server.port}") as plaintext:
            plaintext_code = await _health_code(plaintext)
        async with _tls_channel(server.port, pki) as secure:
            secure_code = await _health_code(secure)

    assert sink.items == STATES
    assert plaintext_code == grpc.StatusCode.UNAVAILABLE
    assert secure_code == grpc.StatusCode.OK


async def test_mutual_tls_refuses_clients_without_a_certificate_of_its_ca(pki: Pki) -> None:
    tls = ServerTls(pki.server_cert, pki.server_key, client_ca_file=pki.ca)
    async with _publish_server(tls, CountingSink()) as server:
        async with _tls_channel(server.port, pki) as anonymous:
            anonymous_code = await _health_code(anonymous)
        async with _tls_channel(server.port, pki, cert=pki.foreign_client_cert, key=pki.foreign_client_key) as foreign:
            foreign_code = await _health_code(foreign)
        async with _tls_channel(server.port, pki, cert=pki.client_cert, key=pki.client_key) as client:
            client_code = await _health_code(client)

    assert anonymous_code == grpc.StatusCode.UNAVAILABLE
    assert foreign_code == grpc.StatusCode.UNAVAILABLE
    assert client_code == grpc.StatusCode.OK


async def test_roadside_node_speaks_mutual_tls_on_both_sides(pki: Pki, tmp_path: Path) -> None:
    sink = CountingSink()
    cloud_tls = ServerTls(pki.server_cert, pki.server_key, client_ca_file=pki.ca)
    async with _publish_server(cloud_tls, sink) as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            state_dir=tmp_path / "state",
            tls_cert_file=pki.server_cert,
            tls_key_file=pki.server_key,
            tls_client_ca_file=pki.ca,
            cloud_ca_file=pki.ca,
            cloud_client_cert_file=pki.client_cert,
            cloud_client_key_file=pki.client_key,
            heartbeat_s=60.0,
        )
        async with RoadsideNode(settings) as node:
            gateway = BatchUplink(
                f"127.0.0.1:{node.port}",
                "gw-mtls",
                ca_file=pki.ca,
                client_cert_file=pki.client_cert,
                client_key_file=pki.client_key,
            )
            async with _running(gateway):
                await _send_states(gateway, STATES)
                assert await gateway.flush(WAIT_S)
            assert await node.uplink.flush(WAIT_S)
            async with _tls_channel(node.port, pki) as anonymous:
                anonymous_code = await _health_code(anonymous)

    assert sink.items >= STATES  # the states, plus the node's heartbeat
    assert anonymous_code == grpc.StatusCode.UNAVAILABLE


async def test_roadside_uplink_to_a_mutual_tls_cloud_node(pki: Pki) -> None:
    cloud_settings = CloudSettings.load(
        listen="127.0.0.1:0",
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,
    )
    async with CloudNode(cloud_settings) as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=f"127.0.0.1:{cloud.port}",
            cloud_ca_file=pki.ca,
            cloud_client_cert_file=pki.client_cert,
            cloud_client_key_file=pki.client_key,
            heartbeat_s=60.0,
        )
        async with RoadsideNode(settings) as node:
            await _send_states(node.uplink, STATES)
            delivered = await node.uplink.flush(WAIT_S)
            acked = node.uplink.stats.items_acked
        async with aio.insecure_channel(f"127.0.0.1:{cloud.port}") as plaintext:
            plaintext_code = await _health_code(plaintext)
        async with _tls_channel(cloud.port, pki) as anonymous:
            anonymous_code = await _health_code(anonymous)

    assert delivered
    assert acked >= STATES
    assert plaintext_code == grpc.StatusCode.UNAVAILABLE
    assert anonymous_code == grpc.StatusCode.UNAVAILABLE


def test_incomplete_tls_settings_are_configuration_errors(pki: Pki) -> None:
    assert ServerTls.from_settings(None, None, None) is None
    with pytest.raises(ConfigurationError):
        ServerTls.from_settings(pki.server_cert, None, None)
    with pytest.raises(ConfigurationError):
        ServerTls(pki.server_cert, pki.server_key.with_name("missing.key")).credentials()
    with pytest.raises(ConfigurationError):
        channel_credentials(pki.ca, pki.client_cert, None)
    with pytest.raises(ConfigurationError):
        channel_credentials(None, pki.client_cert, pki.client_key)
    with pytest.raises(ConfigurationError):
        channel_credentials(pki.ca.with_name("missing.pem"))
    assert channel_credentials(None) is None
