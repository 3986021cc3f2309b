"""Vendor adapters: pure functions from raw payload bytes to domain objects, tested without I/O."""

from __future__ import annotations
