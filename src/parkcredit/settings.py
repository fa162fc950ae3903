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
    # -- limits (issue 16): what one request may cost; see docs/operations.md "Limits"
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # multipart bodies (imports); larger -> 413
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024)  # every other body (JSON, forms); larger -> 413
    max_import_rows: int = Field(default=200_000, ge=1)  # data rows of one imported file (issue 13); more -> 422
    authorization_horizon_years: int = Field(default=5, ge=1, le=50)  # an authorization's valid_to at most this far
    # -- background jobs: a running job holds a lease its worker renews; an expired lease = a dead worker
    job_lease_seconds: float = Field(default=60.0, gt=0)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)  # SIGTERM: wait this long for running jobs
    batch_chunk: int = Field(default=500, ge=1, le=100_000)  # snapshots decided and stored per transaction
    # a batch job of at least this many snapshots decides them in a process of its own (app/batch_decide.py),
    # started with the server if the store holds that many enterprises, else on the first such job (~3 s,
    # meanwhile its thread decides), and kept for later jobs; 0 = never
    batch_process_min: int = Field(default=20_000, ge=0)
    # -- signed audit checkpoints (docs/operations.md "What an auditor keeps"): the Ed25519 signing key lives
    # outside the database — a PEM or base64 raw key in PARKCREDIT_AUDIT_SIGNING_KEY, or a file; without
    # either, data_dir/audit-signing.key is made on first use (fine for a demo, not for production)
    audit_signing_key: str = ""
    audit_signing_key_file: Path | None = None
    audit_checkpoint_file: Path | None = None  # default data_dir/audit-checkpoints.jsonl
    audit_checkpoint_interval_s: float = Field(default=3600.0, ge=0)  # the service's own checkpoints; 0 = off
    # -- web sessions: a random token in the cookie, its hash in web_sessions
    web_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)

    # -- bank alerts (issue 14): the webhook delivery thread, its retries (exponential back-off) and timeout
    webhook_worker: bool = True
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)  # attempt n waits base × 2^(n-1), at most 1 h
    webhook_max_attempts: int = Field(default=10, ge=1, le=100)  # then the delivery is `failed` (alerts stay pollable)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_poll_seconds: float = Field(default=5.0, gt=0)  # retries come due between the commits that wake it
    # a receiver on this host's loopback (or link-local, e.g. a cloud metadata address) is refused unless allowed:
    # a bank's key must not make the service post to its own internal ports (SSRF); private intranet addresses are fine
    webhook_allow_loopback: bool = False

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
        if self.audit_checkpoint_file is None:
            self.audit_checkpoint_file = self.data_dir / "audit-checkpoints.jsonl"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
