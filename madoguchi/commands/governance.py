"""Governance commands: `madoguchi explain CONVERSATION_ID`, `madoguchi retention run`,
`madoguchi export insight --tenant T --csv`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from config.settings import get_settings
from config.tenancy import load_tenants
from governance.explain import explain_conversation, explanation_as_dict, format_explanation
from governance.insight import build_insight, insight_csv, insight_rows
from governance.retention import run as run_retention
from knowledge.embedder import get_embedder
from storage import Database


def _services() -> Any:
    """Database and tenants only: these commands need neither channels nor the dialogue engine."""
    settings = get_settings()
    db = Database(settings.effective_database_url)
    db.migrate()
    return argparse.Namespace(settings=settings, db=db, tenants=load_tenants(settings.tenants_dir))


def cmd_explain(args: argparse.Namespace) -> int:
    services = _services()
    explanation = explain_conversation(services.db, args.conversation_id, services.tenants)
    if explanation is None:
        print(f"error: no conversation {args.conversation_id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(explanation_as_dict(explanation), ensure_ascii=False, indent=1, default=str))
    else:
        print(format_explanation(explanation))
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    summary = run_retention(_services())
    print(json.dumps({"erased": summary}, ensure_ascii=False))
    return 0


def cmd_export_insight(args: argparse.Namespace) -> int:
    services = _services()
    if args.tenant not in services.tenants:
        print(f"error: unknown tenant {args.tenant!r}; known: {', '.join(sorted(services.tenants))}", file=sys.stderr)
        return 1
    embedder = get_embedder(services.settings.embedder, services.settings.embed_threads)
    insight = build_insight(services.db, [args.tenant], embedder=embedder, days=args.days)
    if args.csv:
        sys.stdout.write(insight_csv(insight))
    else:
        rows = [dict(zip(("section", "day", "key", "value"), row, strict=True)) for row in insight_rows(insight)]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


def register(subparsers: Any) -> None:
    explain = subparsers.add_parser("explain", help="why the assistant did what it did in one conversation")
    explain.add_argument("conversation_id")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(func=cmd_explain)

    retention = subparsers.add_parser("retention", help="erase conversations past the tenant's retention period")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    retention_sub.add_parser("run", help="run the retention job once").set_defaults(func=cmd_retention_run)

    export = subparsers.add_parser("export", help="export aggregates")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    insight = export_sub.add_parser("insight", help="dashboard aggregates (no personal data)")
    insight.add_argument("--tenant", required=True)
    insight.add_argument("--days", type=int, default=30)
    insight.add_argument("--csv", action="store_true", help="CSV (default: JSON)")
    insight.set_defaults(func=cmd_export_insight)
