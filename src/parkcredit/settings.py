"""All configuration in one object, read from `PARKCREDIT_*` environment variables.

Defaults are the embedded setup of the README's first command: a SQLite file under `var/`,
the bundled rule sets in `scoring_rules/`, the bundled model in `models/`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PROJECT_ROOT", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Service and CLI settings; every field can be set as PARKCREDIT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PARKCREDIT_", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'parkcredit.db'}"
    rules_dir: Path = PROJECT_ROOT / "scoring_rules"
    model_dir: Path = PROJECT_ROOT / "models" / "default"
    model_enabled: bool = True
    mlflow_tracking_uri: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'mlflow.db'}"
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_pepper: str = "parkcredit-dev-pepper"  # set a secret one in production


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
