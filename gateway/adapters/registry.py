"""Adapter names -> adapter functions. Adding a vendor is one module plus one line here and one route."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.adapters.base import Adapter
from gateway.adapters.radar_wgs84 import normalize_radar_wgs84

__all__ = ["ADAPTERS"]

ADAPTERS: Mapping[str, Adapter] = {
    "radar_wgs84": normalize_radar_wgs84,
}
