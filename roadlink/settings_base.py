"""Settings loading shared by every tier: defaults < config file (TOML) < environment variables.

Each tier defines a `TierSettings` subclass with an env prefix (ROADLINK_GATEWAY_, ...) and a TOML table
name ([gateway], [roadside], [cloud]), so one file can configure all three tiers of a deployment.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

import pydantic
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource

from roadlink.domain.errors import ConfigurationError

__all__ = ["TierSettings"]

_file_values: ContextVar[dict[str, Any] | None] = ContextVar("roadlink_settings_file_values", default=None)


class TierSettings(BaseSettings):
    """Base of each tier's settings; use `load(config_file)` to build one."""

    config_table: ClassVar[str] = ""

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Self:
        """Build settings from defaults, the tier's table of `config_file`, the environment and overrides."""
        token = _file_values.set(_read_table(config_file, cls.config_table) if config_file else {})
        try:
            return cls(**overrides)
        except pydantic.ValidationError as exc:
            raise ConfigurationError(f"invalid {cls.config_table} settings: {exc}") from exc
        finally:
            _file_values.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_source = InitSettingsSource(settings_cls, init_kwargs=_file_values.get() or {})
        return (init_settings, env_settings, file_source)


def _read_table(path: Path, table: str) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    section = document.get(table, {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"[{table}] in {path} must be a table")
    return section
