"""The roadside node: accepts edge batches (gRPC) and forwards them to the cloud over a client stream."""

from __future__ import annotations
