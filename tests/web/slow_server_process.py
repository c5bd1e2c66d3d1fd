"""A service whose every turn takes two minutes, served as `madoguchi serve` serves (cli.serve_options): the
shutdown test sends it SIGTERM while a request and a worker are inside such a turn.

    python tests/web/slow_server_process.py DATA_DIR PORT GRACE_SECONDS
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn  # noqa: E402

from config.settings import Settings  # noqa: E402
from conversations.runtime import ChannelRuntime, ChannelSettings  # noqa: E402
from madoguchi.app import create_app  # noqa: E402
from madoguchi.cli import serve_options  # noqa: E402
from madoguchi.composition import build_services  # noqa: E402
from tests.channels.standins import ScriptedEngine  # noqa: E402


def main(data_dir: str, port: str, grace: str) -> None:
    settings = Settings(data_dir=Path(data_dir), default_tenant="tokyo")
    runtime = ChannelRuntime(settings=ChannelSettings(inbox_workers=1, outbox_senders=1, worker_poll_s=0.1,
                                                      smtp_inbound_enabled=False, shutdown_grace_s=float(grace)))
    services = build_services(settings, engine=ScriptedEngine(delay_s=120), channels={}, runtime=runtime)
    uvicorn.run(create_app(services), **serve_options(settings, "127.0.0.1", int(port), float(grace)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
