"""Adapter names -> adapter factories. Adding a vendor is one module plus one line here and one route."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.adapters.base import AdapterFactory, fixed
from gateway.adapters.radar_wgs84 import normalize_radar_wgs84

__all__ = ["ADAPTERS"]

ADAPTERS: Mapping[str, AdapterFactory] = {
    "radar_wgs84": fixed(normalize_radar_wgs84),
}
