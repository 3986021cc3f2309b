"""Translation between roadlink errors and gRPC status codes, in one place.

Servers: `DomainErrorInterceptor` turns a `ValidationError` escaping a handler into INVALID_ARGUMENT and a
`ServiceError` into its own code, so handlers raise domain errors and never touch grpc status APIs.
Clients: `service_error_from_rpc` turns a `grpc.RpcError` into our `ServiceError` (raise ... from exc).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from roadlink.domain.errors import ServiceError, StatusCode, ValidationError

__all__ = ["DomainErrorInterceptor", "grpc_code", "service_error_from_rpc"]

_TO_GRPC = {code: getattr(grpc.StatusCode, code.name) for code in StatusCode}
_FROM_GRPC = {grpc_code: code for code, grpc_code in _TO_GRPC.items()}


def grpc_code(code: StatusCode) -> grpc.StatusCode:
    """The gRPC status code for a domain status code."""
    return _TO_GRPC[code]


def service_error_from_rpc(exc: grpc.RpcError) -> ServiceError:
    """Translate a failed call into our error type, keeping the server's detail text."""
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    grpc_status = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details = details_fn() if callable(details_fn) else str(exc)
    return ServiceError(_FROM_GRPC.get(grpc_status, StatusCode.UNKNOWN), str(details or ""))


async def _abort_for(error: Exception, context: aio.ServicerContext[Any, Any]) -> None:
    if isinstance(error, ValidationError):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    if isinstance(error, ServiceError):
        await context.abort(grpc_code(error.code), error.message)


def _wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(request, context)
        except (ValidationError, ServiceError) as error:
            await _abort_for(error, context)
            raise

    return handler


def _wrap_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a streaming handler: an async generator, or a coroutine that writes with context.write()."""
    if not inspect.isasyncgenfunction(behavior):
        return _wrap_unary(behavior)

    async def handler(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        try:
            async for response in behavior(request, context):
                yield response
        except (ValidationError, ServiceError) as error:
            await _abort_for(error, context)
            raise

    return handler


class DomainErrorInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Maps domain errors raised by handlers to gRPC status codes."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.unary_unary:
            return handler._replace(unary_unary=_wrap_unary(handler.unary_unary))
        if handler.stream_unary:
            return handler._replace(stream_unary=_wrap_unary(handler.stream_unary))
        if handler.unary_stream:
            return handler._replace(unary_stream=_wrap_stream(handler.unary_stream))
        if handler.stream_stream:
            return handler._replace(stream_stream=_wrap_stream(handler.stream_stream))
        return handler
