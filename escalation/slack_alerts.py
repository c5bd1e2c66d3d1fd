"""Slack alerts for operators: new escalations posted to the tenant's channel with a 「対応する」 button.

High-priority hand-overs (risk tiers, priority >= HIGH_PRIORITY) are posted at once, one message each; the rest
are gathered and posted together, one message listing them, every `slack_batch_seconds`. Which escalations were
announced is recorded in the audit log (action "escalation.slack_alert"), so a restart does not announce twice.
Alerts carry no personal data: reason, risk tier, waiting time and a link to the console, never the resident's
words (Slack is outside the city's systems).

Pressing the button arrives at POST /slack/interactions (madoguchi/web/slack.py), which calls
handle_claim_press(): map the Slack user to an operator, claim, and answer at once; the message is edited
(chat.update) right after the answer, so Slack's 3-second limit holds whatever Slack's API latency is.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.request import Request, urlopen

from channels.slack import CLAIM_ACTION_ID, CLAIM_BUTTON_LABEL, SlackAdapter, escape_mrkdwn
from escalation.settings import get_escalation_settings
from storage import Row, append_audit, get_operator_by_slack_user, operator_tenant_ids, utcnow
from storage.escalations import unannounced_escalations

log = logging.getLogger(__name__)

HIGH_PRIORITY = 50  # risk tiers and risk-reason hand-overs (see escalation.queue.priority_for)
ALERT_ACTION = "escalation.slack_alert"
LOOKBACK = timedelta(hours=24)  # older unannounced escalations are not news any more
BATCH_LIMIT = 20  # Slack allows 50 blocks a message; keep the list readable
REASON_LABELS = {"risk": "緊急・リスク", "requested": "担当者希望", "low_confidence": "回答に自信なし",
                 "no_content": "該当情報なし", "complaint": "ご意見・苦情", "operator_returned": "再対応",
                 "callback": "折り返し希望"}


def slack_adapters(services: Any) -> dict[str, SlackAdapter]:
    """Tenant id → its Slack adapter, for the tenants that configured one."""
    found = {}
    for tenant_id, channels in (services.channels or {}).items():
        adapter = channels.get(SlackAdapter.name) if channels is not None else None
        if adapter is not None:
            found[tenant_id] = adapter
    return found


def console_link(services: Any, escalation_id: str) -> str:
    return f"{services.settings.public_base_url.rstrip('/')}/console/escalations/{escalation_id}"


def alert_line(services: Any, row: Row) -> str:
    reason = REASON_LABELS.get(row.reason, row.reason)
    risk = f"・リスク: {row.risk}" if row.risk else ""
    callback = "・折り返し希望" if (row.meta or {}).get("callback_requested") else ""
    return f"[{reason}{risk}{callback}] 優先度 {row.priority} — <{console_link(services, row.id)}|コンソールで開く>"


def _claim_button(escalation_id: str) -> dict[str, Any]:
    return {"type": "button", "style": "primary", "action_id": CLAIM_ACTION_ID, "value": escalation_id,
            "text": {"type": "plain_text", "text": CLAIM_BUTTON_LABEL}}


def batch_blocks(tenant_name: str, lines: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One section per escalation, each with its own button (block_id names the escalation for the update)."""
    header = {"type": "section", "text": {"type": "mrkdwn",
                                          "text": f"*{escape_mrkdwn(tenant_name)}* 対応待ち {len(lines)} 件"}}
    return [header] + [{"type": "section", "block_id": f"escalation:{eid}",
                        "text": {"type": "mrkdwn", "text": text}, "accessory": _claim_button(eid)}
                       for eid, text in lines]


def _slack_client(adapter: SlackAdapter) -> Any:
    # SlackAdapter.post_alert builds one escalation's blocks; a batch and a partial update need their own.
    return adapter._client


@dataclass
class SlackNotifier:
    services: Any
    batch_seconds: float | None = None
    clock: Any = time.monotonic
    _last_batch: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.batch_seconds = self.batch_seconds if self.batch_seconds is not None else \
            get_escalation_settings().slack_batch_seconds

    def unannounced(self, tenant_ids: list[str]) -> list[Row]:
        with self.services.db.read() as conn:
            return unannounced_escalations(conn, tenant_ids, since=utcnow() - LOOKBACK, announced_action=ALERT_ACTION)

    def run_once(self) -> int:
        """Post what is due; returns how many escalations were announced."""
        adapters = slack_adapters(self.services)
        if not adapters:
            return 0
        pending: dict[str, list[Row]] = {}
        for row in self.unannounced(list(adapters)):
            pending.setdefault(row.tenant, []).append(row)
        return sum(self._announce_tenant(adapters[t], rows) for t, rows in pending.items())

    def _announce_tenant(self, adapter: SlackAdapter, rows: list[Row]) -> int:
        urgent = [r for r in rows if r.priority >= HIGH_PRIORITY]
        for row in urgent:
            ts = adapter.post_alert(alert_line(self.services, row), row.id)
            self._record(adapter, [row], ts)
        ordinary = [r for r in rows if r.priority < HIGH_PRIORITY][:BATCH_LIMIT]
        if ordinary and self._batch_due(adapter.tenant):
            self._post_batch(adapter, ordinary)
            return len(urgent) + len(ordinary)
        return len(urgent)

    def _batch_due(self, tenant_id: str) -> bool:
        now = self.clock()
        last = self._last_batch.setdefault(tenant_id, now)
        if now - last < self.batch_seconds:
            return False
        self._last_batch[tenant_id] = now
        return True

    def _post_batch(self, adapter: SlackAdapter, rows: list[Row]) -> None:
        tenant = self.services.tenants.get(adapter.tenant)
        name = tenant.display_name if tenant else adapter.tenant
        lines = [(row.id, alert_line(self.services, row)) for row in rows]
        text = f"{name} 対応待ち {len(rows)} 件"
        response = _slack_client(adapter).chat_postMessage(channel=adapter.alert_channel, text=text,
                                                           blocks=batch_blocks(name, lines))
        self._record(adapter, rows, str(response["ts"]))

    def _record(self, adapter: SlackAdapter, rows: list[Row], ts: str) -> None:
        with self.services.db.transaction() as conn:
            for row in rows:
                append_audit(conn, actor="system", action=ALERT_ACTION, tenant=row.tenant, target=row.id,
                             detail={"channel": adapter.alert_channel, "ts": ts})

    def run(self, stop: threading.Event, interval_seconds: float | None = None) -> None:
        interval = interval_seconds or get_escalation_settings().slack_poll_seconds
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # Slack down or a database hiccup: the console still works; retry next round
                log.exception("Slack notification round failed")
            stop.wait(interval)


# -- a risk ticket nobody claimed in time -------------------------------------------------------------------------

OVERDUE_ALERT_ACTION = "escalation.sla_alert"
TIER_LABELS = {"emergency": "緊急（命・安全）", "crisis": "危機（こころ・暴力）", "disaster": "被災", "life": "生活の危機",
               "health": "健康", "property": "財産", "deadline": "期限"}


def overdue_alert_text(services: Any, row: Row, waited_minutes: float) -> str:
    tier = TIER_LABELS.get(row.risk or "", row.risk or "リスク")
    told = "住民には緊急の電話番号をもう一度案内しました。" if row.risk in ("emergency", "crisis") else ""
    return (f"<!here> :rotating_light: *{tier}* の問い合わせが {waited_minutes:.0f} 分間だれにも対応されていません。"
            f"{told}至急対応してください — "
            f"<{console_link(services, row.id)}|コンソールで開く>")


def post_overdue_alert(services: Any, row: Row, waited_minutes: float) -> str | None:
    """Raise an unclaimed risk ticket to the tenant's supervisors on Slack (with the claim button); returns the
    message ts, or None when the tenant has no Slack. No personal data: tier, wait and a console link."""
    adapter = slack_adapters(services).get(row.tenant)
    if adapter is None:
        return None
    return adapter.post_alert(overdue_alert_text(services, row, waited_minutes), row.id,
                              channel=adapter.supervisor_channel)


# -- the 「対応する」 button ----------------------------------------------------------------------------------------------

@dataclass
class ClaimPress:
    """What a button press led to: `reply` is the immediate answer to Slack, `update` the follow-up edit."""
    ok: bool
    reply: dict[str, Any]
    update: Any = None  # a callable to run after answering (chat.update / response_url), or None


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def interaction_payload(raw: bytes) -> dict[str, Any]:
    """The raw block_actions payload (for the message blocks, which the adapter's event does not carry)."""
    try:
        return json.loads(parse_qs(raw.decode("utf-8"))["payload"][0])
    except (KeyError, ValueError, UnicodeDecodeError):
        return {}


def handle_claim_press(services: Any, adapter: SlackAdapter, event: Any, payload: dict[str, Any]) -> ClaimPress:
    """Claim the escalation for the operator mapped to the Slack user; quick (two short transactions)."""
    escalation_id, slack_user = event.meta["escalation_id"], event.sender
    with services.db.read() as conn:
        operator = get_operator_by_slack_user(conn, slack_user)
        tenants = operator_tenant_ids(conn, operator.id) if operator is not None else []
    if operator is None:
        return _refuse(event, "この Slack アカウントは madoguchi の担当者に登録されていません。管理者に連絡してください。")
    if adapter.tenant not in tenants:
        return _refuse(event, "この自治体の問い合わせを担当する権限がありません。")
    claim = services.queue.claim_specific(escalation_id, operator.username, tenant_ids=[adapter.tenant])
    if claim is None:
        current = services.queue.get(escalation_id, tenant_ids=[adapter.tenant])
        holder = f"{current.claimed_by} さんが" if current is not None and current.claimed_by else "すでに"
        return _refuse(event, f"{holder}対応中か、対応が終わっています。")
    link = console_link(services, escalation_id)
    update = lambda: mark_claimed(adapter, event, payload, slack_user, link)  # noqa: E731
    return ClaimPress(ok=True, reply={"text": f"担当になりました: {link}"}, update=update)


def _refuse(event: Any, text: str) -> ClaimPress:
    url = event.meta.get("response_url")
    return ClaimPress(ok=False, reply=ephemeral(text), update=(lambda: post_response_url(url, ephemeral(text)))
                      if url else None)


def claimed_message_blocks(blocks: list[dict[str, Any]], escalation_id: str, user_id: str,
                           link: str) -> list[dict[str, Any]]:
    """The alert's blocks with this escalation's button replaced by who took it (other buttons stay)."""
    done = {"type": "context", "block_id": f"claimed:{escalation_id}", "elements": [
        {"type": "mrkdwn", "text": f":white_check_mark: <@{escape_mrkdwn(user_id)}> さんが対応中 — <{link}|開く>"}]}
    updated = []
    for block in blocks:
        if block.get("block_id") == f"escalation:{escalation_id}":
            if block.get("type") == "section":  # a batch line: keep the line, drop its button
                updated.append({k: v for k, v in block.items() if k not in ("accessory", "block_id")})
            updated.append(done)
        else:
            updated.append(block)
    return updated


def mark_claimed(adapter: SlackAdapter, event: Any, payload: dict[str, Any], user_id: str, link: str) -> None:
    channel, ts = event.meta.get("channel_id"), event.meta.get("message_ts")
    if not channel or not ts:
        return
    message = payload.get("message") or {}
    blocks = message.get("blocks")
    try:
        if blocks:
            blocks = claimed_message_blocks(blocks, event.meta["escalation_id"], user_id, link)
            _slack_client(adapter).chat_update(channel=channel, ts=ts, text=message.get("text") or "", blocks=blocks)
        else:
            adapter.mark_claimed(channel, ts, message.get("text") or "問い合わせ", user_id)
    except Exception:  # the claim stands; a stale button only leads to a polite "already taken"
        log.exception("could not update the Slack alert %s/%s", channel, ts)


def post_response_url(url: str, body: dict[str, Any]) -> None:
    try:
        request = Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=5):  # noqa: S310 - Slack's response_url (https) or a test double
            pass
    except Exception:
        log.warning("could not post to Slack's response_url")
