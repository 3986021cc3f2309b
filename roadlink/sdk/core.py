"""The shared core of the OEM SDK: connection options, channel and call set-up, retry policy, error translation.

`ClientCore` is the one base class both clients sit on (`VehicleClient`, async; `SyncVehicleClient`, sync).
It validates and holds the `ConnectionOptions`; the functions next to it build the channel (TLS or
insecure), the per-call metadata (`authorization: Bearer <token>`) and translate every foreign error into
`ServiceError` (one place: `translate_error`).

Retry: streams that fail with a transient code (`RETRYABLE_CODES`) are reopened after a delay from the
`ReconnectPolicy` (exponential backoff with full jitter); `RetryBudget` counts consecutive failures and
raises `ServiceError` once `max_attempts` reopenings failed in a row, or at once for a permanent code.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeAlias

import grpc
from grpc import aio

from roadlink.domain.errors import ServiceError, StatusCode
from roadlink.wire.backoff import Backoff
from roadlink.wire.status import service_error_from_rpc

__all__ = [
    "RETRYABLE_CODES",
    "ClientCore",
    "ConnectionOptions",
    "ReconnectPolicy",
    "RetryBudget",
    "TlsCredentials",
    "open_channel",
    "status_of_call",
    "translate_error",
]

RETRYABLE_CODES = frozenset(
    {
        StatusCode.UNAVAILABLE,
        StatusCode.INTERNAL,
        StatusCode.UNKNOWN,
        StatusCode.CANCELLED,
        StatusCode.DEADLINE_EXCEEDED,
        StatusCode.RESOURCE_EXHAUSTED,
    }
)
"""Codes after which a stream is reopened. Any other code (INVALID_ARGUMENT, UNAUTHENTICATED,
PERMISSION_DENIED, NOT_FOUND) is permanent: retrying cannot help, so it is raised at once."""

AccessToken: TypeAlias = str | Callable[[], str]
"""A bearer token, or a function returning the current one (called whenever a call is opened)."""

_MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TlsCredentials:
    """TLS settings of the channel, as PEM bytes.

    `root_certificates` verifies the node (None = the system's trusted roots). `certificate_chain` and
    `private_key` identify the vehicle for mutual TLS (both or neither). `server_name` overrides the name
    the node's certificate is checked against (for an IP target, or a test certificate).
    """

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = field(default=None, repr=False)
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("certificate_chain and private_key go together (mutual TLS): give both or neither")

    @classmethod
    def from_files(
        cls,
        root_certificates: str | Path | None = None,
        certificate_chain: str | Path | None = None,
        private_key: str | Path | None = None,
        *,
        server_name: str | None = None,
    ) -> Self:
        """Read the PEM files (None = not used)."""

        def read(path: str | Path | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return cls(read(root_certificates), read(certificate_chain), read(private_key), server_name)


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How streams are reopened after a transient failure.

    Before reopening attempt n (0-based) the client waits a random delay in
    [0, min(max_backoff_s, initial_backoff_s * backoff_factor**n)]. After `max_attempts` consecutive failed
    reopenings it gives up with `ServiceError`; a stream that delivers again resets the count.
    """

    max_attempts: int = 10
    initial_backoff_s: float = 0.05
    max_backoff_s: float = 5.0
    backoff_factor: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError(f"max_attempts must be >= 0, got {self.max_attempts}")
        if not 0 < self.initial_backoff_s <= self.max_backoff_s or self.backoff_factor < 1:
            raise ValueError("need 0 < initial_backoff_s <= max_backoff_s and backoff_factor >= 1")

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before reopening attempt `attempt` (0-based), from the shared `Backoff`."""
        return Backoff(self.initial_backoff_s, self.max_backoff_s, self.backoff_factor).delay_s(attempt, rng)


class RetryBudget:
    """Consecutive failures of one stream, against a `ReconnectPolicy`."""

    def __init__(self, policy: ReconnectPolicy) -> None:
        self._policy = policy
        self.failures = 0

    def failed(self, error: ServiceError) -> float:
        """Record a failure; return the delay before the next attempt, or raise when retrying cannot help."""
        if error.code not in RETRYABLE_CODES:
            raise error
        if self.failures >= self._policy.max_attempts:
            raise ServiceError(
                error.code, f"gave up after {self.failures} reconnect attempts; last error: {error.message}"
            )
        delay_s = self._policy.delay_s(self.failures)
        self.failures += 1
        return delay_s

    def succeeded(self) -> bool:
        """Record a success; True when it ended a run of failures (a reconnect)."""
        recovered = self.failures > 0
        self.failures = 0
        return recovered


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """Everything needed to reach a node. `tls=None` is an insecure (plaintext) channel: the token then
    travels in clear, so use it only on loopback or a trusted network."""

    target: str
    tls: TlsCredentials | None = None
    access_token: AccessToken | None = field(default=None, repr=False)
    connect_timeout_s: float = 10.0
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    max_publish_rate_hz: float = 10.0

    def __post_init__(self) -> None:
        if not self.target:
            raise ValueError("target must be host:port")
        if not (self.connect_timeout_s > 0 and math.isfinite(self.connect_timeout_s)):
            raise ValueError(f"connect_timeout_s must be a positive number, got {self.connect_timeout_s}")
        if not self.max_publish_rate_hz > 0:
            raise ValueError(f"max_publish_rate_hz must be > 0, got {self.max_publish_rate_hz}")
        if isinstance(self.access_token, str):
            _check_token(self.access_token)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata sent with every call: the bearer token, when there is one.

        A token function that fails (or returns a malformed token) is ServiceError(UNAUTHENTICATED).
        """
        if self.access_token is None:
            return ()
        if isinstance(self.access_token, str):
            return (("authorization", f"Bearer {self.access_token}"),)
        try:
            token = _check_token(self.access_token())
        except Exception as exc:
            raise ServiceError(StatusCode.UNAUTHENTICATED, f"the access_token function failed: {exc!r}") from exc
        return (("authorization", f"Bearer {token}"),)

    def channel_options(self) -> list[tuple[str, Any]]:
        """gRPC channel arguments: message limits, and gRPC's own reconnect backoff aligned with ours so a
        restarted node is noticed as soon as our policy retries."""
        policy = self.reconnect
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.initial_reconnect_backoff_ms", max(10, int(policy.initial_backoff_s * 1000))),
            ("grpc.max_reconnect_backoff_ms", max(10, int(policy.max_backoff_s * 1000))),
        ]
        if self.tls is not None and self.tls.server_name:
            options.append(("grpc.ssl_target_name_override", self.tls.server_name))
        return options


def _check_token(token: str) -> str:
    if not token or any(c in token for c in "\r\n") or token != token.strip():
        raise ValueError("access_token must be a non-empty string without line breaks or surrounding spaces")
    return token


def open_channel(options: ConnectionOptions) -> aio.Channel:
    """A new channel to `options.target`: TLS when `options.tls` is set, else insecure. It connects lazily."""
    if options.tls is None:
        return aio.insecure_channel(options.target, options=options.channel_options())
    credentials = grpc.ssl_channel_credentials(
        root_certificates=options.tls.root_certificates,
        private_key=options.tls.private_key,
        certificate_chain=options.tls.certificate_chain,
    )
    return aio.secure_channel(options.target, credentials, options=options.channel_options())


def translate_error(exc: BaseException) -> ServiceError:
    """The one place foreign failures become `ServiceError`: gRPC errors keep their code and detail;
    a timeout is DEADLINE_EXCEEDED; anything else (a closed stream, a socket error) is UNAVAILABLE."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, grpc.RpcError):
        return service_error_from_rpc(exc)
    if isinstance(exc, TimeoutError):
        return ServiceError(StatusCode.DEADLINE_EXCEEDED, str(exc) or "timed out")
    return ServiceError(StatusCode.UNAVAILABLE, f"{type(exc).__name__}: {exc}")


async def status_of_call(call: Any, exc: BaseException, timeout_s: float = 1.0) -> ServiceError:
    """Why a call failed: its final status when it has one (a write to a finished call only says
    'already finished'), else the translated exception."""
    if isinstance(exc, asyncio.InvalidStateError) and call.done():
        try:
            async with asyncio.timeout(timeout_s):
                code, details = await call.code(), await call.details()
        except (TimeoutError, grpc.RpcError):
            return translate_error(exc)
        return service_error_from_rpc(_Status(code, details))
    return translate_error(exc)


class _Status(grpc.RpcError):  # type: ignore[misc]
    """A finished call's status in the shape `service_error_from_rpc` reads."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class ClientCore:
    """What both clients share: the validated `ConnectionOptions` and their accessors.

    Args:
        target: the node's VehicleService address, host:port.
        tls: TLS credentials; None = insecure channel (loopback and trusted networks only).
        access_token: sent as `authorization: Bearer <token>` with every call; a callable is asked for the
            current token whenever a call is opened (token rotation).
        connect_timeout_s: how long connecting may take before `ServiceError(UNAVAILABLE)`.
        reconnect: backoff and attempt limit for reopening streams after transient failures.
        max_publish_rate_hz: the most state messages per second sent per vehicle (newer states replace
            pending ones).
    """

    def __init__(
        self,
        target: str,
        *,
        tls: TlsCredentials | None = None,
        access_token: AccessToken | None = None,
        connect_timeout_s: float = 10.0,
        reconnect: ReconnectPolicy | None = None,
        max_publish_rate_hz: float = 10.0,
    ) -> None:
        self._options = ConnectionOptions(
            target=target,
            tls=tls,
            access_token=access_token,
            connect_timeout_s=connect_timeout_s,
            reconnect=reconnect or ReconnectPolicy(),
            max_publish_rate_hz=max_publish_rate_hz,
        )
        self._setup()

    def _setup(self) -> None:
        """Subclasses create their own state here (so they share this constructor and its signature)."""

    @classmethod
    def with_options(cls, options: ConnectionOptions) -> Self:
        """A client built from ready-made options."""
        return cls(
            options.target,
            tls=options.tls,
            access_token=options.access_token,
            connect_timeout_s=options.connect_timeout_s,
            reconnect=options.reconnect,
            max_publish_rate_hz=options.max_publish_rate_hz,
        )

    @property
    def options(self) -> ConnectionOptions:
        """The connection options this client was built with."""
        return self._options

    @property
    def target(self) -> str:
        """The node's address, host:port."""
        return self._options.target

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options.target!r}, tls={self._options.tls is not None})"
