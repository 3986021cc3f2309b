"""Cloud node settings: env ROADLINK_CLOUD_*, or table [cloud] of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from roadlink.settings_base import TierSettings

__all__ = ["CloudSettings"]


class CloudSettings(TierSettings):
    """How to run one cloud node."""

    model_config = SettingsConfigDict(env_prefix="ROADLINK_CLOUD_", extra="forbid")
    config_table: ClassVar[str] = "cloud"

    node_id: str = Field("cloud-1", description="Node id reported in stats.")
    listen: str = Field("127.0.0.1:50071", description="gRPC listen address host:port (port 0 = any free port).")
    access_tokens: list[str] = Field(
        default_factory=list,
        description="Bearer tokens accepted on every call but health and reflection (set them through the "
        "environment, ROADLINK_CLOUD_ACCESS_TOKENS='[\"...\"]'); empty = no token required.",
    )
    state_dir: Path | None = Field(
        None, description="Directory for the ledger of accepted edge batches (dedupe across restarts); None = memory."
    )
    tls_cert_file: Path | None = Field(
        None, description="PEM certificate chain of the gRPC server; with tls_key_file the port is TLS only."
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        None, description="PEM CA that signs client certificates (RSUs, SDKs); set = every client needs one (mTLS)."
    )
    picture: Literal["latest", "fused"] = Field(
        "latest",
        description="latest: the latest objects per source (no fusion); fused: the fusion tracker (one track "
        "per object across RSUs and vehicles).",
    )
    fusion_origin_latitude_deg: float | None = Field(
        None, ge=-90, le=90, description="ENU origin of the fused tile; None = the first position received."
    )
    fusion_origin_longitude_deg: float | None = Field(None, ge=-180, le=180, description="See the latitude.")
    fusion_period_ms: int = Field(100, gt=0, le=1_000, description="How often the tracker steps, ms.")
    max_age_ms: int = Field(3_000, gt=0, description="Sources silent for longer than this are dropped, ms.")
    map_files: list[Path] = Field(
        default_factory=list,
        description="MapData files loaded at start (v2x.roadside.v1.MapData, protobuf JSON if the name ends "
        "in .json, else binary), for intersections whose RSUs send no MapData; MapData received later wins.",
    )
    tile_owners: dict[str, list[tuple[int, int]]] = Field(
        default_factory=dict,
        description="Static tile assignment shared by every node of the city: node id -> (column, row) tiles "
        "it owns (fused picture only). The grid is square tiles of tile_size_m in the ENU frame of the "
        "fusion origin, which must then be set. Empty = this node owns the whole map (no tiles).",
    )
    tile_size_m: float = Field(1_000.0, gt=0, description="Edge of a square tile, metres.")
    tile_peers: dict[str, str] = Field(
        default_factory=dict,
        description="host:port of the other nodes of tile_owners, for handing tracks over at tile borders "
        "(FusionService.HandOverTracks, plaintext: a trusted backbone).",
    )
    tile_peer_access_token: str | None = Field(None, description="Bearer token presented to the tile peers.")
