"""The seam between the domain core and the v1 wire contract (generated code under gen/python)."""

from __future__ import annotations
