"""An in-process MQTT broker (amqtt) so `roadlink demo` runs with nothing installed first."""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import Self

from amqtt.broker import Broker

__all__ = ["EmbeddedBroker"]


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt broker on a free 127.0.0.1 port (async context manager); `url` is set once entered."""

    def __init__(self) -> None:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.port = _free_loopback_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True},
            "topic-check": {"enabled": False},
        }
        self._broker = Broker(config)

    async def __aenter__(self) -> Self:
        await self._broker.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._broker.shutdown()
