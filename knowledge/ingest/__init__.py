"""One loader per source format. Each yields SourceDocuments and IngestProblems (bad rows are reported, skipped)."""
from knowledge.ingest.base import LOADERS, Loader, load_source

__all__ = ["LOADERS", "Loader", "load_source"]
