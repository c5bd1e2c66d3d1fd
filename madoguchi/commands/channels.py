"""`madoguchi channels …`: which channels are on, the inbox/outbox at a glance, and a standalone worker process.

    madoguchi channels status            # each tenant's channels: on, or off and which variables would turn it on
    madoguchi channels queues            # inbound events and outbox rows by channel and status
    madoguchi channels worker [--workers 2] [--senders 1] [--no-email]
        inbox workers + outbox senders (+ SMTP endpoint and IMAP pollers) without the web app: run several on
        other machines to scale out, and start the web app with MADOGUCHI_INBOX_WORKERS=0 if it should only ack.
"""
from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from config.settings import get_settings
from config.tenancy import load_tenants
from storage import Database
from storage import queue_counts as stored_queue_counts


def cmd_status(args: argparse.Namespace) -> int:
    from channels.registry import build_channels  # when the command runs: the provider SDKs load in seconds

    settings = get_settings()
    for built in build_channels(list(load_tenants(settings.tenants_dir).values()), settings=settings).values():
        for status in built.statuses:
            print(status.describe())
        if built.imap is not None:
            print(f"{built.tenant}/email: also polls IMAP {built.imap.host}:{built.imap.port}")
    return 0


def queue_counts(db: Database) -> list[tuple[str, str, str, int]]:
    """(queue, channel, status, rows) for the inbox and the outbox."""
    with db.read() as conn:
        return stored_queue_counts(conn)


def cmd_queues(args: argparse.Namespace) -> int:
    db = Database()
    db.migrate()
    for name, channel, status, n in queue_counts(db):
        print(f"{name:6} {channel:6} {status:10} {n}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    # when the command runs: the whole service (models, provider SDKs) loads in seconds
    from conversations.email_gateway import start_email
    from conversations.inbox_worker import start_workers
    from conversations.outbox_sender import start_senders
    from conversations.leases import stop_gracefully
    from governance.logging import configure_logging
    from madoguchi.composition import build_services

    services = build_services()
    configure_logging(services.settings.log_level, services.settings.log_format)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.metrics_port is not None:
        # This process's own counters (turns, step latencies, sends): Prometheus scrapes each worker as it does
        # each web instance (madoguchi/web/operations.py says why not the client's multiprocess mode).
        from prometheus_client import start_http_server  # when the command runs

        server, _thread = start_http_server(args.metrics_port, addr=args.metrics_host)
        print(f"metrics on http://{args.metrics_host}:{server.server_port}/metrics", flush=True)
    threads = [*start_workers(services, stop, args.workers), *start_senders(services, stop, args.senders)]
    if not args.no_email:
        threads += start_email(services, stop)
    settings = services.runtime.settings
    print(f"channel worker: {args.workers or settings.inbox_workers} inbox, {args.senders or settings.outbox_senders}"
          f" outbox threads; Ctrl-C stops", flush=True)
    stop.wait()
    stop_gracefully(services, stop, threads)
    return 0


def register(sub: Any) -> None:
    channels = sub.add_parser("channels", help="LINE / phone / e-mail channels: status, queues, worker")
    commands = channels.add_subparsers(dest="channels_command", required=True)
    commands.add_parser("status", help="which channels are on for each tenant").set_defaults(func=cmd_status)
    commands.add_parser("queues", help="inbox and outbox rows by status").set_defaults(func=cmd_queues)
    worker = commands.add_parser("worker", help="run inbox workers and outbox senders without the web app")
    worker.add_argument("--workers", type=int, default=None)
    worker.add_argument("--senders", type=int, default=None)
    worker.add_argument("--no-email", action="store_true", help="do not start the SMTP endpoint / IMAP pollers")
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve this process's Prometheus metrics on this port (0: any free port)")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    worker.set_defaults(func=cmd_worker)
