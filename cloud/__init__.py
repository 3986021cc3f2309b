"""The cloud node: keeps the latest picture and serves situation streams to vehicles and operators."""

from __future__ import annotations
