"""`madoguchi index …`: publish a tenant's index for every instance, and see what was published.

    madoguchi index publish --tenant T               # the index in T's directory (the last ingest), as a new version
    madoguchi index publish --tenant T --version V   # a snapshot published before, again: a rollback
    madoguchi index versions --tenant T              # newest first; the first line is what every instance serves

Instances with MADOGUCHI_INDEX_SOURCE=published pick a publication up within MADOGUCHI_INDEX_POLL_S, loading it
beside the one they serve and swapping when it is ready (knowledge/knowledge_base.py).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from config.settings import get_settings
from storage import Database, index_version_history


def cmd_publish(args: argparse.Namespace) -> int:
    # when the command runs: the index module loads numpy and bm25s
    from knowledge.index import TenantIndex
    from knowledge.ingestion import tenant_index_dir
    from knowledge.publication import publish, snapshot_dir

    settings = get_settings()
    directory = (snapshot_dir(settings, args.tenant, args.version) if args.version
                 else tenant_index_dir(settings, args.tenant))
    if not (directory / "manifest.json").exists():
        print(f"error: no index at {directory}", file=sys.stderr)
        return 1
    db = _database()
    published = publish(db, settings, TenantIndex.load(directory), published_by=args.by)
    print(f"published {published.tenant} {published.version} ({published.directory})")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    with _database().read() as conn:
        rows = index_version_history(conn, args.tenant, limit=args.limit)
    for row in rows:
        print(f"{row.published_at:%Y-%m-%d %H:%M:%S}  {row.version}  {row.documents:>7} documents  "
              f"built {row.built_at or '-'}  by {row.published_by or '-'}")
    return 0


def _database() -> Database:
    db = Database(get_settings().effective_database_url)
    db.migrate()
    return db


def register(sub: Any) -> None:
    index = sub.add_parser("index", help="publish a tenant's index version for every instance; list versions")
    commands = index.add_subparsers(dest="index_command", required=True)
    publish = commands.add_parser("publish", help="publish the tenant directory's index (or --version) as current")
    publish.add_argument("--tenant", required=True)
    publish.add_argument("--version", help="a snapshot published before (index_dir/<tenant>/versions/<version>)")
    publish.add_argument("--by", default="cli", help="who publishes (recorded)")
    publish.set_defaults(func=cmd_publish)
    versions = commands.add_parser("versions", help="published versions, newest (current) first")
    versions.add_argument("--tenant", required=True)
    versions.add_argument("--limit", type=int, default=20)
    versions.set_defaults(func=cmd_versions)
