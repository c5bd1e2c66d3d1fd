"""Channel webhook benchmark: acknowledgement latency while answering is slow, and redelivery storms.

    .venv/bin/python bench/channels.py                          # SQLite and PostgreSQL (127.0.0.1:5432/test)
    .venv/bin/python bench/channels.py --kinds postgresql --line-events 5000 --identical 5000

The app (real uvicorn, inbox workers, outbox sender, fake LINE and Twilio APIs on loopback) runs in a process of
its own so the load generator does not share its interpreter. Three figures:
  1. LINE: distinct signed webhooks over 50 keep-alive connections with every turn taking 20 s → ack p50/p99/max.
  2. Twilio: concurrent calls asking a question with every turn taking 20 s → TwiML latency p50/p99/max (the
     route waits up to 1.5 s for the turn, then holds the caller).
  3. N identical LINE deliveries over 50 connections (fast turns) → stored events, turns, outbox rows, replies.
"""
from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds queue.py: take this folder off sys.path so the standard library's `queue` stays importable.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from twilio.request_validator import RequestValidator  # noqa: E402

PUBLIC_BASE = "https://madoguchi.city.example.jp"
LINE_SECRET, LINE_TOKEN = "line-channel-secret", "line-token"
TWILIO_SID, TWILIO_AUTH = "AC" + "0" * 32, "twilio-token"


# -- the server process -----------------------------------------------------------------------------------------

def serve(url: str, schema: str | None, data_dir: str, port: int, delay_s: float, ready: object,
          stop: object, results: object) -> None:
    import logging

    import uvicorn

    from channels.line import LineAdapter
    from channels.voice import CallScript, VoiceAdapter
    from madoguchi.background import start_channel_loops
    from madoguchi.app import create_app
    from storage import Database
    from tests.channels.fakes import FakeLineApi, FakeTwilioApi
    from tests.channels.standins import ScriptedEngine
    from tests.channels.wiring import loop_settings, make_services, tenant_channels

    logging.basicConfig(level=logging.ERROR)
    db = Database(url, schema=schema)
    with FakeLineApi(LINE_TOKEN) as line_api, FakeTwilioApi(TWILIO_SID, TWILIO_AUTH) as twilio_api:
        adapters = {
            "line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url),
            "voice": VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE,
                                  sms_from="+815012345678", script=CallScript(operator_number="+81353207725"),
                                  api_base_url=twilio_api.url)}
        services = make_services(db, Path(data_dir), engine=ScriptedEngine(delay_s=delay_s),
                                 channels={"tokyo": tenant_channels("tokyo", adapters)},
                                 settings=loop_settings(worker_poll_s=0.5, inbox_workers=2))
        loops_stop = threading.Event()
        start_channel_loops(services, loops_stop)
        server = uvicorn.Server(uvicorn.Config(create_app(services, start_background=False), host="127.0.0.1",
                                               port=port, log_level="error", backlog=4096))
        threading.Thread(target=lambda: (stop.wait(), setattr(server, "should_exit", True)), daemon=True).start()
        threading.Thread(target=lambda: (_wait_started(server), ready.set()), daemon=True).start()
        server.run()
        loops_stop.set()
        results.put({"line_delivered": len(line_api.delivered), "sms": len(twilio_api.messages)})


def _wait_started(server: object) -> None:
    while not server.started:
        time.sleep(0.02)


class Server:
    def __init__(self, url: str, schema: str | None, delay_s: float) -> None:
        from tests.channels.wiring import free_port

        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.ready, self.stop, self.results = context.Event(), context.Event(), context.Queue()
        self._dir = tempfile.mkdtemp(prefix="bench-channels-")
        self.process = context.Process(target=serve, args=(url, schema, self._dir, self.port, delay_s, self.ready,
                                                          self.stop, self.results))

    def __enter__(self) -> Server:
        self.process.start()
        if not self.ready.wait(60):
            raise RuntimeError("the app did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.final = self.results.get(timeout=30)
        self.process.join(timeout=30)


# -- load ---------------------------------------------------------------------------------------------------------

def line_body(event_id: str, user: str) -> bytes:
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000), "webhookEventId": event_id,
             "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex,
             "source": {"type": "user", "userId": user}, "message": {"type": "text", "id": "1", "text": "粗大ごみ"}}
    return json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()


def line_headers(body: bytes) -> dict[str, str]:
    from tests.channels.fakes import line_signature

    return {"X-Line-Signature": line_signature(LINE_SECRET, body), "Content-Type": "application/json"}


def post_all(port: int, requests: list[tuple[str, bytes, dict[str, str]]], connections: int,
             rate: float | None = None) -> list[tuple[int, float]]:
    """Send the requests over `connections` keep-alive connections; (status, seconds) for each.

    rate=None: closed loop, each connection sends its next request when the last one is answered (saturation).
    rate=R: open loop, request i is due at i/R s; its latency counts from when it was due, so a slow server
    cannot hide its queue by slowing the senders down."""
    shards = [list(range(i, len(requests), connections)) for i in range(connections)]
    barrier = threading.Barrier(connections + 1)
    start: list[float] = []

    def run(shard: list[int]) -> list[tuple[int, float]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        out = []
        for index in shard:
            due = start[0] + index / rate if rate else time.perf_counter()
            time.sleep(max(0.0, due - time.perf_counter()))
            path, body, headers = requests[index]
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            out.append((response.status, time.perf_counter() - due))
        conn.close()
        return out

    with ThreadPoolExecutor(connections) as pool:
        futures = [pool.submit(run, shard) for shard in shards]
        start.append(time.perf_counter())
        barrier.wait()
        return [r for future in futures for r in future.result()]


def summary(name: str, results: list[tuple[int, float]]) -> dict[str, object]:
    seconds = sorted(s for _, s in results)
    statuses = sorted({status for status, _ in results})
    p = statistics.quantiles(seconds, n=100, method="inclusive")
    row = {"figure": name, "requests": len(results), "statuses": statuses, "p50_ms": round(p[49] * 1000, 1),
           "p99_ms": round(p[98] * 1000, 1), "max_ms": round(seconds[-1] * 1000, 1)}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def twilio_request(call: int) -> tuple[str, bytes, dict[str, str]]:
    path = "/webhooks/twilio/voice/tokyo/gather?step=1"
    params = {"CallSid": f"CA{call:032d}", "AccountSid": TWILIO_SID, "From": f"+8190{call:08d}",
              "To": "+81353207725", "CallStatus": "in-progress", "SpeechResult": "粗大ごみの出し方",
              "Confidence": "0.9"}
    signature = RequestValidator(TWILIO_AUTH).compute_signature(PUBLIC_BASE + path, params)
    return path, urlencode(params).encode(), {"X-Twilio-Signature": signature,
                                              "Content-Type": "application/x-www-form-urlencoded"}


def slow_answering(url: str, schema: str | None, args: argparse.Namespace) -> None:
    with Server(url, schema, delay_s=20.0) as server:
        def line(count: int) -> list[tuple[str, bytes, dict[str, str]]]:
            bodies = (line_body(uuid.uuid4().hex, f"U{uuid.uuid4().hex[:8]}") for _ in range(count))
            return [("/webhooks/line/tokyo", body, line_headers(body)) for body in bodies]

        post_all(server.port, line(200), 50)  # warm-up: connections, first imports, SQLite page cache
        summary("line_ack_slow_turns_saturated_50conn", post_all(server.port, line(args.line_events), 50))
        for rate in args.line_rates:
            summary(f"line_ack_slow_turns_{rate}_per_s", post_all(server.port, line(rate * 10), 50, rate))
        # Calls arriving while LINE traffic goes on; every turn takes 20 s, so every call is held.
        calls = [twilio_request(n) for n in range(args.calls)]
        background = threading.Thread(target=post_all, args=(server.port, line(args.calls_line_rate * 12), 20,
                                                             args.calls_line_rate))
        background.start()
        summary(f"twilio_twiml_slow_turns_{args.call_rate}_calls_per_s",
                post_all(server.port, calls, min(len(calls), 100), args.call_rate))
        background.join()


def identical_deliveries(url: str, schema: str | None, args: argparse.Namespace) -> None:
    from storage import Database
    from tests.channels.wiring import counts

    body = line_body("01HIDENTICAL", "U1")
    with Server(url, schema, delay_s=0.0) as server:
        started = time.perf_counter()
        results = post_all(server.port, [("/webhooks/line/tokyo", body, line_headers(body))] * args.identical, 50)
        elapsed = time.perf_counter() - started
        time.sleep(2)  # the worker and sender finish the one turn
    row = summary(f"line_{args.identical}_identical", results)
    db = Database(url, schema=schema)
    stored = counts(db)
    db.dispose()
    print(json.dumps({"figure": "identical_outcome", "seconds": round(elapsed, 2),
                      "requests_per_s": round(len(results) / elapsed), **stored,
                      "replies_delivered": server.final["line_delivered"], "all_200": row["statuses"] == [200]}),
          flush=True)


def databases(kind: str, postgres_url: str):
    from storage import Database
    from storage.testing import temporary_postgres

    if kind == "postgresql":
        db = temporary_postgres(postgres_url)
        return db.url.render_as_string(hide_password=False), db.schema, db.drop_schema
    path = Path(tempfile.mkdtemp(prefix="bench-channels-db-")) / "bench.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return f"sqlite:///{path}", None, lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--line-events", type=int, default=2000, help="distinct LINE webhooks at saturation")
    parser.add_argument("--line-rates", type=lambda v: [int(x) for x in v.split(",")], default=[100, 200],
                        help="paced LINE webhooks per second (10 s each)")
    parser.add_argument("--calls", type=int, default=200, help="phone calls asking a question")
    parser.add_argument("--call-rate", type=float, default=20.0, help="calls arriving per second")
    parser.add_argument("--calls-line-rate", type=int, default=100, help="LINE webhooks/s meanwhile")
    parser.add_argument("--identical", type=int, default=1000, help="identical LINE deliveries")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        print(f"== {kind}", flush=True)
        for run in (slow_answering, identical_deliveries):
            url, schema, cleanup = databases(kind, args.postgres_url)
            try:
                run(url, schema, args)
            finally:
                cleanup()


if __name__ == "__main__":
    main()
