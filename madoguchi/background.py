"""The loops that start with the app (and with `madoguchi channels worker`): each floor's, wired here.

    start_channel_loops     inbox workers, outbox senders, the SMTP endpoint and IMAP pollers (conversations/)
    start_escalation_loops  the SLA watcher (stale claims, holding messages) and, with Slack, the alert notifier
    start_governance_loops  retention, at start-up and then daily
    start_content_loops     the websites' scheduled syncs (tenants with `sync:` in their YAML)
    start_operations_loops  pruning the shared rate-limit counters
"""
from __future__ import annotations

import threading
from typing import Any

from conversations.email_gateway import start_email
from conversations.holding import HoldingMessages
from conversations.inbox_worker import start_workers
from conversations.outbox_sender import start_senders
from conversations.rate_limits import run_pruner
from conversations.tell import tell_resident
from escalation.sla import SlaWatcher
from escalation.slack_alerts import SlackNotifier, slack_adapters
from governance.retention import start_retention_loop
from madoguchi.composition import Services
from madoguchi.content_sync import start_background as start_website_syncs


def start_channel_loops(services: Services, stop: threading.Event) -> list[threading.Thread]:
    return [*start_workers(services, stop), *start_senders(services, stop), *start_email(services, stop)]


def sla_watcher(services: Services, **options: Any) -> SlaWatcher:
    """The SLA watcher as the app runs it: holding messages per risk tier (`options`: a test's clock …)."""
    holding = HoldingMessages(services.settings.tenants_dir).text
    return SlaWatcher(services, tell_resident, holding=holding, **options)


def start_escalation_loops(services: Services, stop: threading.Event) -> list[threading.Thread]:
    loops = [("sla-watcher", sla_watcher(services).run)]
    if slack_adapters(services):
        loops.append(("slack-notifier", SlackNotifier(services).run))
    threads = [threading.Thread(target=run, args=(stop,), name=name, daemon=True) for name, run in loops]
    for thread in threads:
        thread.start()
    return threads


def start_governance_loops(services: Services, stop: threading.Event) -> list[threading.Thread]:
    return [start_retention_loop(services, stop)]


def start_content_loops(services: Services, stop: threading.Event) -> list[threading.Thread]:
    return start_website_syncs(services, stop)


def start_operations_loops(services: Services, stop: threading.Event) -> list[threading.Thread]:
    thread = threading.Thread(target=run_pruner, args=(services.db, stop), name="rate-limit-pruner", daemon=True)
    thread.start()
    return [thread]


LOOPS = (start_channel_loops, start_escalation_loops, start_governance_loops, start_content_loops,
         start_operations_loops)


def start_all(services: Services, stop: threading.Event) -> list[threading.Thread]:
    return [thread for start in LOOPS for thread in start(services, stop)]

