"""Builds grpc.aio servers the same way for every tier: health service, reflection, error interceptor.

Every server exposes `grpc.health.v1.Health` and server reflection, so grpcurl and load balancers work.
With `tls` (`ServerTls`: PEM certificate chain and key, optionally a client CA) the port speaks TLS only;
with a client CA every client must present a certificate signed by it (mutual TLS). Without `tls` the
port is plaintext (loopback and trusted networks only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.errors import ConfigurationError
from roadlink.wire.auth import BearerTokenInterceptor
from roadlink.wire.status import DomainErrorInterceptor

__all__ = [
    "FUSION_SERVICE",
    "ROADSIDE_SERVICE",
    "VEHICLE_SERVICE",
    "RunningServer",
    "ServerTls",
    "ServiceBinding",
    "start_server",
]

ROADSIDE_SERVICE = rs_pb2.DESCRIPTOR.services_by_name["RoadsideService"].full_name
VEHICLE_SERVICE = vs_pb2.DESCRIPTOR.services_by_name["VehicleService"].full_name
FUSION_SERVICE = fs_pb2.DESCRIPTOR.services_by_name["FusionService"].full_name

_MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """A servicer, the generated function that registers it, and its full service name."""

    servicer: object
    register: Callable[[Any, aio.Server], None]
    full_name: str


@dataclass(frozen=True, slots=True)
class ServerTls:
    """PEM files of a TLS server: its certificate chain and key, and the CA that signs client certificates
    (None = clients need no certificate)."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    @classmethod
    def from_settings(
        cls, cert_file: Path | None, key_file: Path | None, client_ca_file: Path | None
    ) -> ServerTls | None:
        """The TLS of a tier's settings; None when no certificate is set (plaintext)."""
        if cert_file is None and key_file is None and client_ca_file is None:
            return None
        if cert_file is None or key_file is None:
            raise ConfigurationError("TLS needs both tls_cert_file and tls_key_file")
        return cls(cert_file, key_file, client_ca_file)

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials read from the files (ConfigurationError if one cannot be read)."""
        try:
            key, chain = self.key_file.read_bytes(), self.cert_file.read_bytes()
            client_ca = self.client_ca_file.read_bytes() if self.client_ca_file is not None else None
        except OSError as exc:
            raise ConfigurationError(f"cannot read TLS file: {exc}") from exc
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )


@dataclass(slots=True)
class RunningServer:
    """A started server, the port it bound, and its health servicer."""

    server: aio.Server
    port: int
    health: health.aio.HealthServicer

    async def stop(self, grace_s: float = 1.0) -> None:
        """Mark every service NOT_SERVING, then stop, letting calls finish for `grace_s` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)


async def start_server(
    bindings: Sequence[ServiceBinding],
    address: str,
    *,
    access_tokens: Sequence[str] = (),
    tls: ServerTls | None = None,
) -> RunningServer:
    """Start a server on `address` (host:port, port 0 = pick a free one) with health and reflection.

    With `access_tokens`, every call but health and reflection needs `authorization: Bearer <token>`.
    With `tls`, the port accepts TLS connections only (see `ServerTls`).
    """
    credentials = tls.credentials() if tls is not None else None
    interceptors: list[aio.ServerInterceptor] = [DomainErrorInterceptor()]
    if access_tokens:
        interceptors.insert(0, BearerTokenInterceptor(access_tokens))
    server = aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in bindings:
        binding.register(binding.servicer, server)
    names = [b.full_name for b in bindings]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address) if credentials is None else server.add_secure_port(address, credentials)
    if port == 0:
        raise ConfigurationError(f"cannot bind gRPC server to {address}")
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, health_servicer)
