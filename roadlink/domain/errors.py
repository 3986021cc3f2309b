"""The roadlink error hierarchy, in one place so every layer raises and catches the same types.

    RoadlinkError                  root: catch this to catch everything roadlink raises on purpose
    ├── ValidationError            input is malformed or out of range (reason + field); goes to dead-letter
    │   └── StaleDataError         input is valid but too old or from the future for its time bound
    ├── ConfigurationError         settings are inconsistent or missing
    └── ServiceError               a remote call failed; carries a StatusCode (never a grpc.RpcError)

Adapters translate foreign exceptions (pydantic, grpc, aiomqtt) into these with `raise ... from exc`.
"""

from __future__ import annotations

import enum

__all__ = [
    "ConfigurationError",
    "RoadlinkError",
    "ServiceError",
    "StaleDataError",
    "StatusCode",
    "ValidationError",
]


class RoadlinkError(Exception):
    """Root of every error roadlink raises on purpose."""


class ValidationError(RoadlinkError):
    """Input failed validation. `reason` is a short machine-readable code, `detail` the human text."""

    def __init__(self, reason: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" + (f" (field {field})" if field else ""))
        self.reason = reason
        self.detail = detail
        self.field = field


class StaleDataError(ValidationError):
    """Input is outside the accepted time window (too old, or from the future)."""


class ConfigurationError(RoadlinkError):
    """Settings are missing or inconsistent."""


class StatusCode(enum.Enum):
    """Why a remote call failed; mirrors the gRPC codes the services document, without importing grpc."""

    UNKNOWN = "unknown"
    INVALID_ARGUMENT = "invalid_argument"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    NOT_FOUND = "not_found"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


class ServiceError(RoadlinkError):
    """A call to a roadlink service failed with `code`."""

    def __init__(self, code: StatusCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
