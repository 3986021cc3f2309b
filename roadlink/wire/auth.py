"""Bearer-token access control for every roadlink gRPC server.

A node configured with access tokens rejects calls whose `authorization` metadata is not
`Bearer <one of the tokens>` with UNAUTHENTICATED (as the service comments document). The health service
and server reflection stay open, so load balancers and grpcurl keep working. Tokens are compared in
constant time. With no tokens configured, the interceptor is not installed at all.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from grpc import aio

__all__ = ["BearerTokenInterceptor", "bearer_metadata"]

_OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/")


def bearer_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying `token` (empty when there is none)."""
    return (("authorization", f"Bearer {token}"),) if token else ()


async def _deny(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")


class BearerTokenInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Lets a call through only with a valid bearer token (health and reflection are always open)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._expected = [f"Bearer {token}".encode() for token in tokens]
        if not self._expected:
            raise ValueError("BearerTokenInterceptor needs at least one token")

    def _allowed(self, metadata: Any) -> bool:
        presented = dict(metadata or ()).get("authorization", "")
        offered = presented.encode() if isinstance(presented, str) else bytes(presented)
        return any(hmac.compare_digest(offered, expected) for expected in self._expected)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        if handler is None or method.startswith(_OPEN_SERVICES):
            return handler
        if self._allowed(handler_call_details.invocation_metadata):
            return handler
        kind = next(k for k in ("unary_unary", "unary_stream", "stream_unary", "stream_stream") if getattr(handler, k))
        return handler._replace(**{kind: _deny})
