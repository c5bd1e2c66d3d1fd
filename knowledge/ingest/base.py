"""The loader interface and registry: `load_source(spec, tenant)` dispatches on the tenant YAML's `loader` name."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Union

from config.tenancy import SourceSpec
from knowledge.documents import IngestProblem, SourceDocument

Item = Union[SourceDocument, IngestProblem]
# A loader: (path, tenant id, options from the tenant YAML) -> documents and problems, lazily.
Loader = Callable[[Path, str, dict[str, Any]], Iterator[Item]]

LOADERS: dict[str, Loader] = {}
# Loaders that fetch over the network (a website): they get their own state directory under the data directory
# (what the last crawl saw) instead of a path under ../shared, and `madoguchi sync` re-runs them.
REMOTE_LOADERS: set[str] = set()


def register(name: str, remote: bool = False) -> Callable[[Loader], Loader]:
    def decorate(func: Loader) -> Loader:
        LOADERS[name] = func
        if remote:
            REMOTE_LOADERS.add(name)
        return func

    return decorate


def citation_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The citation fields every document of a source shares, taken from the tenant YAML."""
    return {
        "source": options.get("name", ""),
        "url": options.get("url"),
        "licence": options.get("licence"),
        "attribution": options.get("attribution"),
        "as_of": str(options["as_of"]) if options.get("as_of") is not None else None,
    }


def source_state_dir(data_dir: Path, tenant: str, spec: SourceSpec) -> Path:
    key = str(spec.options.get("id_prefix") or spec.options.get("name") or spec.loader)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
    return data_dir / "sites" / tenant / safe


def load_source(spec: SourceSpec, tenant: str, shared_dir: Path, data_dir: Path | None = None) -> Iterator[Item]:
    _import_loaders()
    if spec.loader not in LOADERS:
        raise ValueError(f"unknown loader {spec.loader!r}; known: {', '.join(sorted(LOADERS))}")
    if spec.loader in REMOTE_LOADERS:
        if data_dir is None:
            raise ValueError(f"loader {spec.loader!r} keeps crawl state: give the data directory")
        yield from LOADERS[spec.loader](source_state_dir(data_dir, tenant, spec), tenant, spec.options)
        return
    path = spec.resolved_path(shared_dir)
    if not path.exists():
        yield IngestProblem(str(path), None, "source not found")
        return
    yield from LOADERS[spec.loader](path, tenant, spec.options)


def _import_loaders() -> None:
    # Loader modules register themselves on import.
    import importlib
    import pkgutil

    import knowledge.ingest as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"knowledge.ingest.{module.name}")
