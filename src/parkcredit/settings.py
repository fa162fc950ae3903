"""All configuration in one object, read from `PARKCREDIT_*` environment variables.

Defaults are the embedded setup of the README's first command: the bundled rule sets and model
are package data (`parkcredit/bundled/`, found through importlib.resources, so a wheel install
finds them as well as a checkout); what the process writes (the SQLite database, the MLflow
tracking store) goes to `data_dir`, by default `./var` of the working directory, never into
the installed package.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BUNDLED", "Settings", "get_settings"]

# package data: scoring_rules/*.yaml, models/default/ (MLflow model), models/spec.yaml (training spec).
# A real directory for a regular install or a checkout (the checkout's scoring_rules/ and
# models/default are symlinks into it); read-only as far as the program is concerned.
BUNDLED = Path(str(files("parkcredit") / "bundled"))


class Settings(BaseSettings):
    """Service and CLI settings; every field can be set as PARKCREDIT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PARKCREDIT_", extra="ignore")

    # where the default database and MLflow store live; relative values are taken from the working directory
    data_dir: Path = Field(default=Path("var"), validate_default=True)
    # "" = SQLite at data_dir/parkcredit.db (resp. data_dir/mlflow.db)
    database_url: str = ""
    rules_dir: Path = BUNDLED / "scoring_rules"
    model_dir: Path = BUNDLED / "models" / "default"
    model_enabled: bool = True
    mlflow_tracking_uri: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_pepper: str = "parkcredit-dev-pepper"  # set a secret one in production

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        # fixed when the settings are read, so a later chdir does not move the database
        return v.expanduser().absolute()

    @model_validator(mode="after")
    def _data_urls(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'parkcredit.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.data_dir / 'mlflow.db'}"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
