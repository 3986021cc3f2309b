"""Transport-free domain core: no gRPC, MQTT or generated-protobuf imports may appear below this package."""

from __future__ import annotations
