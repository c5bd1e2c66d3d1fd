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


def register(name: str) -> Callable[[Loader], Loader]:
    def decorate(func: Loader) -> Loader:
        LOADERS[name] = func
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


def load_source(spec: SourceSpec, tenant: str, shared_dir: Path) -> Iterator[Item]:
    _import_loaders()
    if spec.loader not in LOADERS:
        raise ValueError(f"unknown loader {spec.loader!r}; known: {', '.join(sorted(LOADERS))}")
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
