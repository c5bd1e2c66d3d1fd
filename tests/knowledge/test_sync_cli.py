"""`madoguchi sync --tenant T` as a command: progress on stderr, a summary with what failed and why, JSON out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.knowledge.municipal_site import Resource, serve_site, website_options

MADOGUCHI = Path(sys.executable).with_name("madoguchi")


def run_sync(tenants: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MADOGUCHI_TENANTS_DIR": str(tenants), "MADOGUCHI_DATA_DIR": str(data),
           "MADOGUCHI_SHARED_DIR": str(data.parent), "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    return subprocess.run([str(MADOGUCHI), "sync", *args], env=env, capture_output=True, text=True, timeout=300)


def test_sync_command_reports_fetched_changed_new_removed_and_failed(tmp_path):
    site = serve_site()
    try:
        tenants = tmp_path / "tenants"
        tenants.mkdir()
        raw = {"id": "city", "display_name": "○○市", "sources": [{"loader": "website", **website_options(site)}]}
        (tenants / "city.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        first = run_sync(tenants, tmp_path / "data", "--tenant", "city")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["rebuilt"] is True
        site.change_page("/kurashi/gomi.html")
        site.remove_page("/kurashi/inkan.html")
        site.resources["/kosodate/jidouteate.html"] = Resource(b"", "application/zip", 1)
        second = run_sync(tenants, tmp_path / "data", "--tenant", "city")
        assert second.returncode == 0, second.stderr
        out = json.loads(second.stdout)
        summary = out["sources"]["○○市 公式サイト"]
        assert (summary["changed"], summary["removed"], summary["new"], summary["failed"]) == (1, 1, 0, 1)
        assert f"changed   {site.url('/kurashi/gomi.html')}" in second.stderr
        assert f"removed   {site.url('/kurashi/inkan.html')} (HTTP 404)" in second.stderr
        assert "failed: " + site.url("/kosodate/jidouteate.html") + ": not a page or PDF" in second.stderr
        assert "new 0, changed 1, removed 1, failed 1" in second.stderr
        assert out["embedded_new"] > 0 and out["removed"][0]["url"] == site.url("/kurashi/inkan.html")
    finally:
        site.close()


def test_a_tenant_without_a_website_is_told_so(tmp_path):
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    (tenants / "plain.yaml").write_text("id: plain\nsources: []\n", encoding="utf-8")
    result = run_sync(tenants, tmp_path / "data", "--tenant", "plain")
    assert result.returncode != 0 and "no website source" in result.stderr
