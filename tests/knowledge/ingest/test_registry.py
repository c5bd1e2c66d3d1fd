"""Every loader named by a tenant YAML is registered under that name."""
from __future__ import annotations

from pathlib import Path

from config.tenancy import SourceSpec, load_tenant_file
from knowledge.ingest.base import LOADERS, load_source

TENANTS = Path(__file__).resolve().parents[3] / "config" / "tenants"


def test_loader_names_resolve():
    list(load_source(SourceSpec("faq_jsonl", "/nonexistent"), "t1", Path("/")))  # imports every loader module
    named = {spec.loader for file in TENANTS.glob("*.yaml") for spec in load_tenant_file(file).sources}
    assert named <= set(LOADERS)
    assert {"garbage_5374", "bichiku_navi", "civichat_services", "text_document", "opendata_faq_csv"} <= set(LOADERS)


def test_missing_source_is_a_problem_not_a_crash(tmp_path):
    (problem,) = load_source(SourceSpec("text_document", str(tmp_path / "absent.txt")), "t1", tmp_path)
    assert problem.reason == "source not found" and problem.line is None
