"""Why the assistant did what it did in one conversation, turn by turn, from the append-only audit records.

    explanation = explain_conversation(db, conversation_id, tenants)   # ConversationExplanation | None
    print(format_explanation(explanation))

Each turn shows the redacted question, the outcome and reason, the confidence against the thresholds that were
in force at the time, intent, risk, sources with their as-of dates, the versions (index, configuration,
template) and the step timings. A turn stored without an audit record (older rows) is shown from the turns table
and marked so. Hand-overs of the conversation (state, who took it, first response on time) come last.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.audit import TURN_ACTION, thresholds_for
from storage import get_conversation, turns_of_conversation
from storage.escalations import escalations_of_conversation
from storage.reports import turn_audit_rows

OUTCOME_WORDS = {
    "answered": "公式情報から回答", "clarify": "候補を示して確認", "escalated": "担当者へ引き継ぎ",
    "declined": "対象外としてお断り", "blocked": "不正な指示として遮断", "smalltalk": "あいさつ等に応答",
    "with_operator": "担当者対応中のため応答せず",
}
REASON_WORDS = {
    "low_confidence": "確信度が低い", "risk": "命・健康・安全などに関わる", "requested": "ご本人の希望",
    "no_content": "該当する情報がない", "operator_returned": "担当者から戻された", "complaint": "苦情・ご不満",
    "outdated": "出典が古く、金額・対象・期限に関わる",
}


@dataclass
class TurnExplanation:
    detail: dict[str, Any]
    at: Any
    audited: bool


@dataclass
class ConversationExplanation:
    conversation: Any
    turns: list[TurnExplanation]
    escalations: list[Any] = field(default_factory=list)
    current_thresholds: dict[str, float] | None = None


def explain_conversation(db: Any, conversation_id: str, tenants: dict[str, Any] | None = None,
                         *, tenant_scope: list[str] | None = None) -> ConversationExplanation | None:
    with db.read() as conn:
        conversation = get_conversation(conn, conversation_id, tenants=tenant_scope)
        if conversation is None:
            return None
        stored = turns_of_conversation(conn, conversation_id)
        audited = turn_audit_rows(conn, conversation.tenant, conversation.id, [row.id for row in stored],
                                  action=TURN_ACTION)
        handovers = escalations_of_conversation(conn, conversation_id)
    tenant = (tenants or {}).get(conversation.tenant)
    return ConversationExplanation(conversation, _merge_turns(audited, stored), handovers,
                                   thresholds_for(tenant) if tenant else None)


def _merge_turns(audited: list[Any], stored: list[Any]) -> list[TurnExplanation]:
    """The audit record is what was decided at the time; the turns row fills what an audit record lacks."""
    by_turn = {(row.detail or {}).get("turn_id") or row.target: row for row in audited}
    merged = []
    for row in stored:
        audit = by_turn.pop(row.id, None)
        detail = _detail_from_turn(row)
        if audit is not None:
            detail = _overlay(detail, audit.detail or {})
        merged.append(TurnExplanation(detail, audit.at if audit else row.created_at, audit is not None))
    merged += [TurnExplanation(row.detail or {}, row.at, True) for row in by_turn.values()]
    return sorted(merged, key=lambda turn: turn.at)


def _overlay(turn_detail: dict[str, Any], audit_detail: dict[str, Any]) -> dict[str, Any]:
    merged = {**turn_detail, **{key: value for key, value in audit_detail.items() if value is not None}}
    sources = audit_detail.get("sources") or []
    if any("title" not in source for source in sources):  # an abridged list: the turn row has the full one
        merged["sources"] = turn_detail["sources"] or sources
    return merged


def _detail_from_turn(row: Any) -> dict[str, Any]:
    return {
        "turn_id": row.id, "channel": row.channel, "question": row.redacted_question or "", "outcome": row.outcome,
        "reason": row.reason, "confidence": row.confidence, "intent": row.intent, "risk": row.risk,
        "sources": row.sources or [], "timings_ms": row.timings or {}, "index_version": row.index_version,
        "config_version": row.config_version, "template": row.template, "template_version": row.template_version,
        "language": row.language,
    }


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _confidence_line(detail: dict[str, Any], fallback: dict[str, float] | None) -> str:
    """The top answer's probability against the answer threshold. The choice threshold is shown too, but it is
    compared with the probability that one of the top three answers, which the record does not hold."""
    confidence = detail.get("confidence")
    thresholds = detail.get("thresholds") or fallback
    if confidence is None:
        return "  確信度: -"
    line = f"  確信度（1位の回答）: {confidence:.3f}"
    if thresholds:
        verdict = "回答しきい値以上" if confidence >= thresholds["answer"] else "回答しきい値未満"
        when = "当時" if detail.get("thresholds") else "現在"
        line += (f"（{when}のしきい値: 回答 {thresholds['answer']:.2f}、候補提示 {thresholds['clarify']:.2f}"
                 f"〔上位3件で判定〕）→ {verdict}")
    return line


def _source_lines(sources: list[dict[str, Any]]) -> list[str]:
    if not sources:
        return ["  出典: なし"]
    lines = ["  出典:"]
    for number, source in enumerate(sources, 1):
        as_of = f"{source['as_of']}時点" if source.get("as_of") else "時点不明"
        where = source.get("url") or source.get("citation") or ""
        score = f" score {source['score']:.3f}" if isinstance(source.get("score"), (int, float)) else ""
        lines.append(f"    {number}. {source.get('title', '')}（{source.get('source') or '-'}、{as_of}）"
                     f"{score} [{source.get('doc_id', '')}] {where}".rstrip())
    return lines


def _turn_lines(number: int, turn: TurnExplanation, fallback: dict[str, float] | None) -> list[str]:
    d = turn.detail
    outcome, reason = d.get("outcome") or "-", d.get("reason")
    why = f" 理由: {reason}（{REASON_WORDS.get(reason, reason)}）" if reason else ""
    timings = ", ".join(f"{key} {value:.1f} ms" for key, value in (d.get("timings_ms") or {}).items())
    marker = "" if turn.audited else "  ※監査記録なし（turns 表から表示）"
    return [
        f"ターン {number}  {_time(turn.at)}  turn {d.get('turn_id', '-')}  経路 {d.get('channel') or '-'}{marker}",
        f"  質問（個人情報は伏せ字）: {d.get('question') or '-'}",
        f"  結果: {outcome}（{OUTCOME_WORDS.get(outcome, outcome)}）{why}",
        _confidence_line(d, fallback),
        f"  意図: {d.get('intent') or '-'}  リスク: {d.get('risk') or 'なし'}  言語: {d.get('language') or '-'}",
        *_source_lines(d.get("sources") or []),
        f"  テンプレート: {d.get('template') or '-'} (版 {d.get('template_version') or '-'})  "
        f"設定版: {d.get('config_version') or '-'}  索引版: {d.get('index_version') or '-'}",
        f"  処理時間: {timings or '-'}",
    ]


def _handover_lines(rows: list[Any]) -> list[str]:
    lines = []
    for row in rows:
        on_time = "-"
        if row.first_response_due and row.first_response_at:
            on_time = "期限内" if row.first_response_at <= row.first_response_due else "期限超過"
        lines.append(f"引き継ぎ {row.id}: 理由 {row.reason}  状態 {row.state}  担当 {row.claimed_by or '-'}  "
                     f"受付 {_time(row.created_at)}  初回応答 {_time(row.first_response_at)}（{on_time}）")
    return lines


def format_explanation(explanation: ConversationExplanation) -> str:
    c = explanation.conversation
    lines = [f"会話 {c.id}  自治体 {c.tenant}  経路 {c.channel}  開始 {_time(c.created_at)}  状態 {c.state}"
             + ("  （ご本人の依頼または保存期間により消去済み）" if c.deleted else "")]
    if not explanation.turns:
        lines.append("記録されたターンはありません。")
    for number, turn in enumerate(explanation.turns, 1):
        lines += ["", *_turn_lines(number, turn, explanation.current_thresholds)]
    if explanation.escalations:
        lines += ["", *_handover_lines(explanation.escalations)]
    return "\n".join(lines)


def explanation_as_dict(explanation: ConversationExplanation) -> dict[str, Any]:
    c = explanation.conversation
    return {
        "conversation_id": c.id, "tenant": c.tenant, "channel": c.channel, "state": c.state, "deleted": c.deleted,
        "turns": [{**turn.detail, "at": _time(turn.at), "audited": turn.audited} for turn in explanation.turns],
        "escalations": [{"id": row.id, "reason": row.reason, "state": row.state, "claimed_by": row.claimed_by}
                        for row in explanation.escalations],
    }
