"""The gateway: MQTT in (vendor JSON or UPER), validated and normalized to v1 messages, gRPC out."""

from __future__ import annotations
