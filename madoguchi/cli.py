"""`madoguchi` command line: serve, ingest, sync, import-rasa, ask, eval, calibrate, and each area's commands
(madoguchi/commands/).

The commands import what they run when they run (function-body imports, marked): loading the dialogue, the
knowledge base and the channel SDKs takes seconds, and `madoguchi --help` or `madoguchi users list` need none of it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.settings import Settings, get_settings, secret_key_problem
from config.tenancy import Tenant, UnknownTenant, get_tenant, load_tenants
from governance.logging import configure_logging, install_redacting_logging
from madoguchi.commands import channels as channel_commands
from madoguchi.commands import governance as governance_commands
from madoguchi.commands import index as index_commands
from madoguchi.commands import users as user_commands

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


def _settings() -> Settings:
    return get_settings()


def _tenant(tenant_id: str) -> Tenant:
    try:
        return get_tenant(tenant_id, _settings().tenants_dir)
    except UnknownTenant as exc:
        raise SystemExit(f"error: {exc.args[0]}") from None


class Progress:
    """One line per stage on stderr, rewritten in place, so long ingests show where they are."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last > 0.5:
            self._last = now
            end = "\n" if done == total else ""
            print(f"\r  embedding {stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge.ingestion import ingest_tenant  # when the command runs (see the module docstring)

    tenant = _tenant(args.tenant)
    print(f"ingesting {tenant.id} ({tenant.display_name}) from {_settings().shared_dir}", file=sys.stderr)
    report = ingest_tenant(tenant, _settings(), progress=None if args.quiet else Progress())
    for problem in report.problems:
        print(f"  problem: {problem}", file=sys.stderr)
    summary = report.to_dict()
    summary["problems"] = len(report.problems)
    # Documents that left the index lose their reviewed variants; new marks since the last build come in.
    summary["question_variants"] = _rebuild_variants(tenant)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    print(json.dumps(_rebuild_variants(_tenant(args.tenant)), ensure_ascii=False, indent=1))
    return 0


def _rebuild_variants(tenant: Tenant) -> dict:
    """The tenant's reviewed question variants from its labelled files and the review page's marks."""
    # when the command runs (see the module docstring)
    from knowledge.variants import variant_options
    from knowledge.variants_build import rebuild_variants
    from storage import Database

    if variant_options(tenant.raw) is None:
        return rebuild_variants(tenant, _settings())  # off: removes what an earlier build left
    db = Database(_settings().effective_database_url)
    db.migrate()
    return rebuild_variants(tenant, _settings(), db)


class SyncProgress:
    """One line per page that is new, changed, removed or failed; a counter line for the unchanged ones."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def __call__(self, source: str, outcome: Any, done: int) -> None:
        if outcome.status != "unchanged" or self.verbose:
            reason = f" ({outcome.reason})" if outcome.reason else ""
            print(f"\r  {outcome.status:<9} {outcome.url}{reason}", file=sys.stderr, flush=True)
        else:
            print(f"\r  {done} pages checked", end="", file=sys.stderr, flush=True)


def _corrections(settings: Settings) -> Any:
    """The staff corrections of the service's own (migrated) database, for commands that write them."""
    # when the command runs (see the module docstring)
    from governance.review import StaffCorrections
    from knowledge.embedder import get_embedder
    from storage import Database

    db = Database(settings.effective_database_url)
    db.migrate()
    return StaffCorrections(db, get_embedder(settings.embedder, settings.embed_threads), settings)


def cmd_sync(args: argparse.Namespace) -> int:
    # when the command runs (see the module docstring)
    from knowledge.sync import website_sources
    from madoguchi.content_sync import run_sync

    tenant, settings = _tenant(args.tenant), _settings()
    if not website_sources(tenant):
        raise SystemExit(f"error: tenant {tenant.id} has no website source (loader: website) to sync")
    print(f"syncing {tenant.id} ({tenant.display_name})", file=sys.stderr)
    report, flagged = run_sync(tenant, settings, _corrections(settings),
                               progress=None if args.quiet else SyncProgress(args.verbose))
    print("", file=sys.stderr)
    for name, summary in report.sources.items():
        print(f"  {name}: fetched {summary['fetched']} ({summary['not_modified']} not modified), "
              f"new {summary['new']}, changed {summary['changed']}, removed {summary['removed']}, "
              f"failed {summary['failed']}", file=sys.stderr)
        for failure in summary["failures"]:
            print(f"    failed: {failure['url']}: {failure['reason']}", file=sys.stderr)
    print(f"  index: {'rebuilt' if report.rebuilt else 'unchanged'}, {report.embedded_new} texts embedded; "
          f"{len(flagged)} curated answers flagged for review", file=sys.stderr)
    print(json.dumps({**report.to_dict(), "curated_flagged_for_review": flagged}, ensure_ascii=False, indent=1))
    return 0


def cmd_import_rasa(args: argparse.Namespace) -> int:
    from madoguchi.rasa_import import import_rasa  # when the command runs (see the module docstring)

    tenant, settings = _tenant(args.tenant), _settings()
    path = Path(args.path)
    if not path.exists():
        raise SystemExit(f"error: no Rasa project at {path}")
    report = import_rasa(path, tenant, _corrections(settings), settings.tenants_dir, source_title=args.source_title,
                         source_url=args.source_url, dry_run=args.dry_run)
    for intent, added in report.intents.items():
        print(f"  intent {intent}: {added} new examples", file=sys.stderr)
    print(f"  curated answers: {len(report.curated)} new, {report.skipped_existing} already there", file=sys.stderr)
    for item in report.not_mapped:
        what = item.get("intent") or item.get("response") or item.get("file")
        print(f"  not mapped: {what}: {item['reason']}", file=sys.stderr)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    return 0


def _answer_fn(tenant: Tenant) -> Callable[[str], dict[str, Any]]:
    """One question, no conversation: the dialogue's real outcome, answer, confidence and sources, with the staff
    corrections of the service's own (migrated) database."""
    from madoguchi.composition import build_services  # when the command runs (see the module docstring)

    engine = build_services(_settings(), channels={}).engine

    def answer(question: str) -> dict[str, Any]:
        data = engine.run_turn(tenant, question).to_dict()
        data.pop("timings_ms", None)
        return data

    return answer


def cmd_ask(args: argparse.Namespace) -> int:
    answer = _answer_fn(_tenant(args.tenant))
    if args.jsonl:
        for line in sys.stdin:
            if not line.strip():
                continue
            row = json.loads(line)
            result = answer(row["question"])
            print(json.dumps({"id": row.get("id"), **result}, ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        raise SystemExit("error: give a question, or --jsonl to read {id, question} lines on stdin")
    result = answer(args.question)
    if args.json:
        print(json.dumps({"id": None, **result}, ensure_ascii=False))
    else:
        print(result["answer"])
        for source in result["sources"][:3]:
            print(f"  - {source['title']} {source.get('url') or source.get('citation') or ''}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    # when the command runs (see the module docstring)
    from knowledge.evaluation_run import run_evaluation
    from knowledge.knowledge_base import KnowledgeBase

    tenant = _tenant(args.tenant)
    kb = KnowledgeBase(_settings(), question_variants=not args.without_variants)
    result = run_evaluation(kb, tenant, Path(args.queries), args.split)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    _print_table(result)
    return 0


def _print_table(result: dict) -> None:
    retrieval = result["retrieval"]
    print("\nmetric          value", file=sys.stderr)
    for key in ("recall@10", "mrr@10", "ndcg@10", "hit@1_grade2"):
        print(f"{key:<15} {retrieval[key]:.4f}", file=sys.stderr)
    policy = result.get("policy")
    if policy:
        for key in ("coverage_answered", "answered_precision_grade2", "clarify_offers_grade2",
                    "no_grade2_escalated_or_clarified"):
            value = policy[key]
            print(f"{key:<33} {value if value is None else round(value, 4)}", file=sys.stderr)
        print(f"risk–coverage of {result['tenant']} (answer the most confident share of its questions)",
              file=sys.stderr)
        print("coverage  precision  min_confidence", file=sys.stderr)
        for row in result["risk_coverage"]["table"]:
            print(f"{row['coverage']:<9} {row['precision']:<10} {row['min_confidence']}", file=sys.stderr)
        print(f"AURC (lower is better): {result['risk_coverage']['aurc']}", file=sys.stderr)
    if result.get("reliability"):
        _print_reliability(result["reliability"]["top1"], "the top hit answers")
        _print_reliability(result["reliability"]["choices"], "the choices hold an answer")


def _print_reliability(rows: list[dict], what: str) -> None:
    """Confidence against how often it was right, per band (calibrated: the two columns agree)."""
    print(f"reliability: P({what})", file=sys.stderr)
    print("band      questions  mean_confidence  rate_right", file=sys.stderr)
    for row in rows:
        print(f"{row['band']:<9} {row['questions']:<10} {row['mean_confidence']:<16} {row['rate_right']}",
              file=sys.stderr)


def cmd_calibrate(args: argparse.Namespace) -> int:
    # when the command runs (see the module docstring)
    from core.policy import Thresholds
    from knowledge.calibration_labels import read_labelled
    from knowledge.calibration_run import run_calibration, score_thresholds
    from knowledge.knowledge_base import KnowledgeBase

    tenant = _tenant(args.tenant)
    kb = KnowledgeBase(_settings(), question_variants=not args.without_variants)
    labels = _calibration_labels(args, tenant, kb)
    result = run_calibration(tenant, labels, shared=args.shared, target_precision=args.target_precision,
                             clarify_target=args.clarify_target, clarify_floor=args.clarify_floor,
                             write=not args.dry_run, kb=kb)
    _print_reliability(result["cross_validated_reliability"]["top1"], "the top hit answers, cross-validated")
    _print_reliability(result["cross_validated_reliability"]["choices"], "the choices hold an answer, cross-validated")
    if args.score_on:
        real = read_labelled(Path(args.score_on), kb.index(tenant.id).docs, args.score_split)
        thresholds = Thresholds(result["thresholds"]["answer"], result["thresholds"]["clarify"])
        result["scored_on"] = {"file": Path(args.score_on).name, "questions": len(real),
                               **score_thresholds(tenant, real, thresholds, kb)}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


def _calibration_labels(args: argparse.Namespace, tenant: Any, kb: Any) -> Any:
    """A labelled file, reviewers' right-source marks and, where neither exists (or when asked), generated
    questions: what the municipality has."""
    # when the command runs (see the module docstring)
    from knowledge.calibration_labels import known_documents, read_labelled, review_marks
    from knowledge.calibration_run import Labels
    from knowledge.question_gen import generate_questions
    from storage import Database

    index = kb.index(tenant.id)
    labels = Labels()
    if args.queries:
        # A follow-up is judged by the dialogue with its conversation; retrieval alone cannot calibrate on it.
        labels.labelled = [q for q in read_labelled(Path(args.queries), index.docs, args.split) if not q.context]
    if not args.no_marks:
        db = Database(_settings().effective_database_url)
        db.migrate()
        labels.marks = known_documents(review_marks(db, tenant.id), index.docs)
    if args.decided_only:
        labels.labelled = _decided_by_policy(tenant, labels.labelled, kb)
    generated = args.generated if args.generated is not None else (0 if labels.all else 400)
    if generated:
        labels.generated = generate_questions(index, kb.tokenizer, generated)
    print(f"calibrating {tenant.id} on {labels.counts()}", file=sys.stderr)
    return labels


def _decided_by_policy(tenant: Tenant, queries: list, kb: Any) -> list:
    """The labelled questions whose turn the answer policy decides (a greeting, a risk, a request for a person,
    a structured or curated answer is decided before it), each as the turn searched it: the thresholds are
    calibrated on the questions they will decide."""
    # when the command runs (see the module docstring)
    import dataclasses

    from dialogue.context import ConversationMemory
    from madoguchi.composition import build_services

    engine = build_services(channels={}, knowledge=kb).engine
    decided = []
    for query in queries:
        result = engine.run_turn(tenant, query.text, ConversationMemory())
        if "policy" in result.notes:
            decided.append(dataclasses.replace(query, text=result.query or query.text))
    print(f"the policy decides {len(decided)} of {len(queries)} labelled questions", file=sys.stderr)
    return decided


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from knowledge.bootstrap import build_missing_indexes_in_background  # when the command runs (module docstring)

    settings = _settings()
    problem = secret_key_problem(settings)
    if problem is not None:
        print(f"error: refusing to start: {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if not args.no_bootstrap:
        build_missing_indexes_in_background(list(load_tenants(settings.tenants_dir).values()), settings)
    # uvicorn keeps the logging configured above (log_config=None); the request log with its request id is
    # madoguchi/web/operations.py's, so uvicorn's own access log is off.
    uvicorn.run("madoguchi.app:create_app", factory=True, **serve_options(settings, args.host, args.port))
    return 0


def serve_options(settings: Settings, host: str | None = None, port: int | None = None,
                  grace_s: float | None = None) -> dict[str, Any]:
    """uvicorn's settings for `serve`. After SIGTERM, requests still running get MADOGUCHI_SHUTDOWN_GRACE_S (the same
    grace the loops get, conversations.leases.stop_gracefully), then the process exits: a request busy for minutes
    (a dashboard over a huge message once) cannot hold a shutdown."""
    from conversations.runtime import ChannelSettings  # when the command runs (see the module docstring)

    grace_s = ChannelSettings().shutdown_grace_s if grace_s is None else grace_s
    return {"host": host or settings.host, "port": port or settings.port, "log_level": settings.log_level.lower(),
            "log_config": None, "access_log": False, "timeout_graceful_shutdown": max(1, int(grace_s))}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="madoguchi", description="窓口 — municipal contact-center assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the service (web chat, operator console, webhooks)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-bootstrap", action="store_true", help="do not build missing indexes at start")
    serve.set_defaults(func=cmd_serve)

    ingest = sub.add_parser("ingest", help="load a tenant's official sources into its index")
    ingest.add_argument("--tenant", required=True)
    ingest.add_argument("--quiet", action="store_true")
    ingest.set_defaults(func=cmd_ingest)

    variants = sub.add_parser(
        "variants", help="index the questions reviewers marked with their right source as more ways of asking "
                         "those documents (tenant YAML question_variants; also done by ingest)")
    variants.add_argument("--tenant", required=True)
    variants.set_defaults(func=cmd_variants)

    sync = sub.add_parser("sync", help="re-crawl the tenant's websites and update its index with what changed")
    sync.add_argument("--tenant", required=True)
    sync.add_argument("--quiet", action="store_true")
    sync.add_argument("--verbose", action="store_true", help="a line for every page, unchanged ones too")
    sync.set_defaults(func=cmd_sync)

    rasa = sub.add_parser("import-rasa", help="import a Rasa project's intents and FAQ responses (nlu.yml, domain.yml)")
    rasa.add_argument("--tenant", required=True)
    rasa.add_argument("path", help="the Rasa project directory (or one YAML file)")
    rasa.add_argument("--source-title", help="the source residents see on imported answers "
                                             "(default: '<display name> よくある質問')")
    rasa.add_argument("--source-url", help="the page residents are pointed to for imported answers")
    rasa.add_argument("--dry-run", action="store_true", help="report what would be imported, write nothing")
    rasa.set_defaults(func=cmd_import_rasa)

    ask = sub.add_parser("ask", help="ask the assistant")
    ask.add_argument("--tenant", required=True)
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true", help="read {id, question} lines on stdin")
    ask.add_argument("question", nargs="?")
    ask.set_defaults(func=cmd_ask)

    evaluate = sub.add_parser("eval", help="retrieval and hand-over metrics on labelled queries")
    evaluate.add_argument("--tenant", required=True)
    evaluate.add_argument("--queries", required=True)
    evaluate.add_argument("--split", help="use only the lines of this split (e.g. report) of --queries")
    evaluate.add_argument("--without-variants", action="store_true",
                          help="search without the tenant's question variants (as a city without reviews would)")
    evaluate.set_defaults(func=cmd_eval)

    calibrate = sub.add_parser(
        "calibrate", help="learn a tenant's confidence calibration and thresholds (and, with --shared, the re-ranker "
                          "and shared confidence model) from its labels: a file, review marks, generated questions")
    calibrate.add_argument("--tenant", required=True)
    calibrate.add_argument("--queries", help="labelled questions (JSONL: relevant doc ids, or evidence file + row)")
    calibrate.add_argument("--split", help="use only the lines of this split (e.g. calibrate) of --queries")
    calibrate.add_argument("--no-marks", action="store_true", help="ignore reviewers' right-source marks")
    calibrate.add_argument("--generated", type=int, default=None,
                           help="add N questions generated from the tenant's documents (default: 400 when the "
                                "tenant has no other labels, else none)")
    calibrate.add_argument("--shared", action="store_true",
                           help="also learn the re-ranker and the shared confidence model from these labels "
                                "(the LocalgovFAQ dev split); other tenants must then be re-calibrated")
    calibrate.add_argument("--target-precision", type=float, default=0.92,
                           help="answered precision the answer threshold keeps (cross-validated; every answered "
                                "question's calibrated probability clears it too, or a lower floor that nested "
                                "cross-validation shows still keeps it)")
    calibrate.add_argument("--clarify-target", type=float, default=0.7,
                           help="share of clarifications whose choices hold an answer (cross-validated)")
    calibrate.add_argument("--clarify-floor", type=float, default=None,
                           help="never offer choices whose calibrated chance of holding the answer is below this "
                                "(default 0.25: below it the question is handed over, the choices as the draft)")
    calibrate.add_argument("--decided-only", action="store_true",
                           help="calibrate the thresholds only on the labelled questions the answer policy decides "
                                "in a turn (the dialogue runs each one first)")
    calibrate.add_argument("--without-variants", action="store_true",
                           help="search without the tenant's question variants (as a city without reviews would)")
    calibrate.add_argument("--dry-run", action="store_true", help="learn and report, write nothing")
    calibrate.add_argument("--score-on", help="also score the learned thresholds on this labelled file")
    calibrate.add_argument("--score-split", help="the split of --score-on to use")
    calibrate.set_defaults(func=cmd_calibrate)
    _register_area_commands(sub)
    return parser


# Each area's subcommands (users, explain, retention, export, channels, index), added by its `register(subparsers)`.
AREA_COMMANDS = (user_commands, governance_commands, channel_commands, index_commands)


def _register_area_commands(sub: Any) -> None:
    for module in AREA_COMMANDS:
        module.register(sub)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    install_redacting_logging()  # personal data never reaches a log line, whatever logs it
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
