"""SIGTERM ends the service within a bounded time (issue 14 item 1: SIGTERM hung while a request was busy), even
with a request and an inbox worker inside two-minute turns. A real process, a real socket, a real signal."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from storage import Database
from core.messages import InboundEvent
from storage import record_inbound

HERE = Path(__file__).resolve().parent
GRACE_S = 2
TURN_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def post(url: str, body: dict | None = None, headers: dict | None = None) -> None:
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        urllib.request.urlopen(request, timeout=TURN_S + 30).read()
    except OSError:
        pass  # the server went away under it: that is the point


def test_sigterm_exits_within_the_grace_period_while_turns_are_running(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, str(HERE / "slow_server_process.py"), str(tmp_path), str(port),
                                str(GRACE_S)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"{base}/t/tokyo/transparency")
        db = Database(f"sqlite:///{tmp_path / 'madoguchi.db'}")
        with db.transaction() as conn:  # the inbox worker takes this and starts a two-minute turn
            record_inbound(conn, InboundEvent(channel="line", external_id="slow-1", tenant="tokyo", sender="U1",
                                              text="粗大ごみの出し方"))
        db.dispose()
        started = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/v1/t/tokyo/conversations", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"}), timeout=10).read())
        inline = threading.Thread(target=post, daemon=True, args=(
            f"{base}/api/v1/t/tokyo/conversations/{started['conversation_id']}/messages",
            {"text": "粗大ごみの出し方を教えて", "client_message_id": "slow-message-1"}, {"X-Resident-Token": started["resident_token"]}))
        inline.start()
        time.sleep(1.5)  # the request and the worker are both inside their turns now
        assert inline.is_alive(), "the request should still be waiting for its turn"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=TURN_S)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert took < TURN_S / 4, f"SIGTERM took {took:.1f} s (grace {GRACE_S} s)"
    print(f"exit after SIGTERM: {took:.1f} s (grace {GRACE_S} s, turns of {TURN_S} s running), code {code}")
