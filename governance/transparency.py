"""The public transparency page of a tenant, generated from the running configuration (never hand-written):
what the assistant can and cannot do, its sources (as-of dates, licences, attribution; document counts from the
index manifest), how confidence and hand-over work (the tenant's thresholds in plain words), the reply templates
as text, what is kept for how long and why, and how to reach a person.

`transparency_context(services, tenant, turn_id=None)` builds the page's data; with a turn id (the chat's
「この回答について」 link) it adds that answer's outcome, confidence and sources, never the question.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from config.settings import DIALOGUE_TEMPLATES_DIR
from config.tenancy import Tenant, routine_sla
from governance.audit import config_version, current_index_version, index_manifest, thresholds_for
from governance.explain import OUTCOME_WORDS, REASON_WORDS
from governance.retention import retention_days
from knowledge.freshness import sensitive_policy, stale_sources
from storage import turn_of_tenant

TEMPLATE_PURPOSES = {
    "answer": "公式の文章で答えるとき", "clarify": "候補を示して確認するとき", "escalated": "担当者へ引き継ぐとき",
    "declined": "対象外のご質問のとき", "blocked": "不正な指示を含むとき", "emergency": "緊急のとき",
    "crisis": "命に関わるご相談のとき", "disaster": "災害に関わるとき", "risk_disclaimer": "注意が必要な内容のとき",
    "greeting": "あいさつ", "thanks": "お礼への返事", "goodbye": "終わりのあいさつ",
    "japanese_source_note": "日本語の出典しかないとき", "ask_slot": "区市町村・地域・人数など答えに必要なことを尋ねるとき",
    "ask_for_words": "言葉のないメッセージ（スタンプなど）のとき", "channel_off": "窓口を一時停止しているとき",
    "message_cut": "長すぎるメッセージのとき", "rate_limited": "短い間に送信が続いたとき",
    "satisfaction": "担当者の対応が終わったとき",
    "pii_not_kept": "マイナンバーやカード番号が送られたとき（番号は保存せず消去します）",
    "holding_emergency": "緊急の引き継ぎに担当者がまだ応じられないとき",
    "holding_crisis": "命に関わるご相談に担当者がまだ応じられないとき",
}
CAN_DO = (
    "公式情報（下の「出典」）から、該当する部分をそのままの文章でお示しします。必ず出典と時点を添えます。",
    "確からしさが十分でないときは、候補を示して確認するか、担当者（職員）へおつなぎします。",
    "「担当者と話したい」と送れば、いつでも担当者へおつなぎします。",
    "命・健康・安全などに関わるご相談では、まず緊急の連絡先をお示しし、担当者へおつなぎします。",
)
CANNOT_DO = (
    "出典にないことを推測して答えることはしません（文章を作り出す生成AIは使っていません）。",
    "個別の手続きの審査・決定や、法律・医療の判断はできません。",
    "マイナンバーなどの個人情報をお聞きすることはありません。送られたマイナンバーやカード番号は保存せずに消去し、"
    "ほかの個人情報も保存の前に伏せ字にします（折り返しの電話番号など、窓口が残すと決めたものを除きます）。",
    "出典の情報が古い場合があります。各出典の時点をご確認のうえ、正式な内容は窓口でお確かめください。",
)


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def threshold_words(tenant: Tenant) -> list[str]:
    t = thresholds_for(tenant)
    return [
        "質問ごとに、見つけた公式の文章がその質問の答えである確からしさ（0〜100%）を計算します。"
        "この確からしさは、実際の問い合わせと正解の組で学習・検証した値です。",
        f"確からしさが {percent(t['answer'])} 以上のときだけ、その文章をお答えとしてお示しします。",
        f"それ未満でも、上位の候補のどれかが答えである確からしさが {percent(t['clarify'])} 以上なら、"
        f"候補を番号つきでお示しし、選んでいただきます。",
        "どちらにも届かないとき、または命・健康・安全や期限に関わる内容、苦情、ご本人の希望があるときは、担当者へおつなぎします。",
    ]


def sources_for(tenant: Tenant, manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each configured source with its licence and as-of date, plus how many documents the index holds of it."""
    indexed = {entry.get("source"): entry for entry in (manifest or {}).get("sources", [])}
    listed, stale = [], {s["name"]: s["review_by"] for s in stale_sources(tenant)}
    for spec in tenant.sources:
        name = spec.options.get("name", Path(spec.path).name)
        entry = indexed.pop(name, {})
        listed.append({
            "name": name, "url": spec.options.get("url") or entry.get("url"),
            "as_of": spec.options.get("as_of") or entry.get("as_of"),
            "licence": spec.options.get("licence") or entry.get("licence"),
            "attribution": spec.options.get("attribution") or entry.get("attribution"),
            "documents": entry.get("documents"), "municipality": spec.options.get("municipality"),
            "stale_since": stale.get(name),
        })
    # Documents in the index from a source no longer configured are still what the assistant answers from.
    listed += [{"name": name, "url": e.get("url"), "as_of": e.get("as_of"), "licence": e.get("licence"),
                "attribution": e.get("attribution"), "documents": e.get("documents"), "municipality": None}
               for name, e in indexed.items()]
    return listed


def reply_templates(tenant: Tenant, tenants_dir: Path, language: str = "ja") -> list[dict[str, str]]:
    """The Japanese reply templates as the assistant uses them (a tenant's own override shown instead)."""
    override_dir = Path(tenants_dir) / tenant.id / "templates" / language
    shown = []
    for path in sorted((DIALOGUE_TEMPLATES_DIR / language).glob("*.j2")):
        override = override_dir / path.name
        used = override if override.exists() else path
        shown.append({"name": path.stem, "purpose": TEMPLATE_PURPOSES.get(path.stem, ""),
                      "text": used.read_text(encoding="utf-8"), "tenant_override": override.exists()})
    return shown


def turn_summary(db: Any, tenant: Tenant, turn_id: str | None) -> dict[str, Any] | None:
    """What a resident sees behind 「この回答について」: outcome, confidence against the thresholds, sources."""
    if not turn_id:
        return None
    with db.read() as conn:
        row = turn_of_tenant(conn, turn_id, tenant.id)
    if row is None:
        return None
    return {
        "turn_id": row.id, "at": row.created_at, "outcome": OUTCOME_WORDS.get(row.outcome, row.outcome),
        "reason": REASON_WORDS.get(row.reason, row.reason) if row.reason else None,
        "confidence": None if row.confidence is None else percent(row.confidence),
        "sources": [{"title": s.get("title"), "url": s.get("url"), "as_of": s.get("as_of"),
                     "source": s.get("source")} for s in (row.sources or [])],
        "index_version": row.index_version,
    }


def transparency_context(services: Any, tenant: Tenant, turn_id: str | None = None) -> dict[str, Any]:
    manifest = index_manifest(tenant.id, services.settings)
    return {
        "tenant": tenant, "contact": tenant.contact or {}, "sla": routine_sla(tenant.get("sla")),
        "can_do": CAN_DO, "cannot_do": CANNOT_DO, "threshold_words": threshold_words(tenant),
        "thresholds": thresholds_for(tenant), "sources": sources_for(tenant, manifest),
        "freshness_sensitive": sensitive_policy(tenant),
        "index": {"version": current_index_version(tenant.id, services.settings),
                  "built_at": (manifest or {}).get("built_at"), "documents": (manifest or {}).get("documents")},
        "config_version": config_version(tenant, services.settings), "retention_days": retention_days(tenant),
        "templates": reply_templates(tenant, services.settings.tenants_dir),
        "turn": turn_summary(services.db, tenant, turn_id),
    }
