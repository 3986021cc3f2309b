"""Cloud node settings: env ROADLINK_CLOUD_*, or table [cloud] of the config file."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

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
    state_dir: Path | None = Field(
        None, description="Directory for the ledger of accepted edge batches (dedupe across restarts); None = memory."
    )
    max_age_ms: int = Field(3_000, gt=0, description="Sources silent for longer than this are dropped, ms.")
