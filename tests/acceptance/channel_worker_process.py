"""An inbox worker in a process of its own, for the kill test: runs turns with a scripted engine until killed.

    python channel_worker_process.py URL SCHEMA|- DATA_DIR DELAY_S LEASE_S
Prints "turn-started <text>" when a turn begins (before the engine's delay) and "turn-stored <inbound id>" after
the turn's transaction committed.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from conversations.inbox_worker import InboxWorker  # noqa: E402
from conversations.turns import process_inbound_row  # noqa: E402
from storage import Database  # noqa: E402
from tests.channels.standins import ScriptedEngine  # noqa: E402
from tests.channels.wiring import loop_settings, make_services  # noqa: E402


class AnnouncingEngine(ScriptedEngine):
    def run_turn(self, tenant, text, memory=None, channel="web"):
        print(f"turn-started {text}", flush=True)
        return super().run_turn(tenant, text, memory, channel)


def main(url: str, schema: str, data_dir: str, delay_s: str, lease_s: str) -> None:
    db = Database(url, schema=None if schema == "-" else schema, pool_size=2)
    services = make_services(db, Path(data_dir), engine=AnnouncingEngine(delay_s=float(delay_s)),
                             settings=loop_settings(inbox_lease_s=float(lease_s)))
    def announcing(services_, row):
        processed = process_inbound_row(services_, row)
        print(f"turn-stored {row.id}", flush=True)
        return processed

    InboxWorker(services, "killable", process=announcing).run(threading.Event())


if __name__ == "__main__":
    main(*sys.argv[1:6])
