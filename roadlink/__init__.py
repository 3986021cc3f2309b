"""roadlink: vehicle-road-cloud (V2X) integration middleware.

`roadlink.domain` is the transport-free core (messages, geodesy, time, errors). The wire contract lives in
proto/ and its generated Python in gen/python (package `v2x`); `roadlink.wire` converts between the two.
"""

from __future__ import annotations

__version__ = "0.1.0"
