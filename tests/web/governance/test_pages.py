"""Transparency page (public), dashboard and review (staff), on the whole app."""
from __future__ import annotations

import csv
import io

import pytest

from config.tenancy import sla_minutes
from tests.governance.seeding import GARBAGE, seed_run
from tests.governance.web_support import app_client, sign_in


@pytest.fixture
def client(services):
    return app_client(services)


def test_transparency_page_is_generated_from_the_configuration(client, services) -> None:
    page = client.get("/t/tokyo/transparency")
    assert page.status_code == 200
    html = page.text
    tokyo = services.tenants["tokyo"]
    for spec in tokyo.sources:  # every configured source with its licence and as-of date
        assert spec.options["name"].replace("&", "&amp;") in html
        assert spec.options["as_of"] in html
    assert "MPL-2.0 (Code for Setagaya)" in html and "800" in html  # licence from YAML, count from the manifest
    answer = round(tokyo.threshold("answer", 0.8) * 100)
    assert f"確からしさが {answer}% 以上のときだけ" in html
    # The reply templates as a resident reads them: rendered with the running configuration, no Jinja source.
    assert "{{" not in html and "{%" not in html
    escalated = html.split('data-template="escalated">')[1].split("</div>")[0]
    minutes = round(sla_minutes(tokyo.get("sla"), "first_response_minutes"))  # the routine tier's
    assert f"通常{minutes}分以内に担当者からお返事します" in escalated and tokyo.contact["phone"] in escalated
    emergency = html.split('data-template="emergency">')[1].split("</div>")[0]
    assert "119（消防・救急）" in emergency and "#7119" in emergency
    assert "出典: 〔出典の名前〕" in html.split('data-template="answer">')[1].split("</div>")[0]
    assert f"<b>{tokyo.get('retention_days')} 日間</b>" in html
    assert tokyo.contact["phone"] in html and tokyo.contact["office"] in html
    assert client.get("/t/nowhere/transparency").status_code == 404


def test_transparency_explains_one_answer_without_its_question(client, services) -> None:
    run = seed_run(services)
    turn_id = run.turns["answered-0"]
    html = client.get(f"/t/tokyo/transparency?turn={turn_id}").text
    assert f'id="turn-{turn_id}"' in html and "この回答について" in html
    assert "粗大ごみの出し方" in html and "2014時点" in html and "97%" in html
    assert "粗大ごみの出し方について。" not in html  # the question is never shown on the public page
    other = client.get(f"/t/amagasaki/transparency?turn={turn_id}").text
    assert "この回答について" not in other


def test_dashboard_needs_staff_of_the_tenant(client, services) -> None:
    assert client.get("/t/tokyo/insight", follow_redirects=False).headers["location"] == "/console/login"
    sign_in(client, services, "amagasaki-op", "operator", ["amagasaki"])
    assert client.get("/t/tokyo/insight").status_code == 404
    assert client.get("/insight").status_code == 403


def test_dashboard_and_csv_show_real_figures_and_no_personal_data(client, services) -> None:
    run = seed_run(services)
    sign_in(client, services, "tokyo-op", "operator", ["tokyo"])
    html = client.get("/t/tokyo/insight?days=7").text
    assert '<b id="total-turns">23</b>' in html and '<b id="handover-rate">21.7%</b>' in html
    assert '<b id="sla-rate">66.7%</b>' in html and '<b id="satisfaction-rate">66.7%</b>' in html
    assert html.count('<tr class="topic">') == 2 and "<svg" in html and "http://cdn" not in html
    exported = client.get("/t/tokyo/insight.csv?days=7")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(int(r["value"]) for r in rows if r["section"] == "questions_by_channel") == 23
    leaked = [secret for secret in run.secrets if secret in html or secret in exported.text]
    assert leaked == []


def test_an_administrator_sees_every_tenant(client, services) -> None:
    seed_run(services)
    sign_in(client, services, "root", "admin", [])
    html = client.get("/insight?days=7").text
    assert "全自治体" in html and '<b id="total-turns">23</b>' in html
    assert client.get("/t/tokyo/insight").status_code == 200
    assert client.get("/insight.csv").status_code == 200


def test_every_reply_template_is_shown_rendered(client) -> None:
    import re

    from config.settings import DIALOGUE_TEMPLATES_DIR

    html = client.get("/t/amagasaki/transparency").text
    expected = {path.stem for path in (DIALOGUE_TEMPLATES_DIR / "ja").glob("*.j2")} - {"japanese_source_note"}
    assert set(re.findall(r'data-template="([^"]+)"', html)) == expected  # none skipped for want of a value


def test_transparency_says_when_answering_is_paused(client, services) -> None:
    from storage.switches import set_switch

    assert 'id="paused"' not in client.get("/t/tokyo/transparency").text
    with services.db.transaction() as conn:
        set_switch(conn, tenant="tokyo", switch="answering", off=True, set_by="boss", reason="点検")
    paused = client.get("/t/tokyo/transparency").text.split('id="paused"')[1].split("</section>")[0]
    assert "自動応答を一時停止しています" in paused


def test_the_tokyo_pages_do_not_call_tokyo_a_city(client) -> None:
    chat = client.get("/t/tokyo/").text
    header = chat.split('<header class="site-header">')[1].split("</header>")[0]
    assert "東京都" in header and "市" not in header
    transparency = client.get("/t/tokyo/transparency").text
    assert "東京都 問い合わせアシスタントのしくみ" in transparency and "市区町村などの公式情報" not in transparency


def test_review_is_for_supervisors(client, services) -> None:
    sign_in(client, services, "tokyo-op", "operator", ["tokyo"])
    assert client.get("/t/tokyo/review").status_code == 403


def test_a_supervisor_corrects_answers_through_the_review_page(client, services) -> None:
    run = seed_run(services)
    csrf = sign_in(client, services, "boss", "supervisor", ["tokyo"])
    page = client.get("/t/tokyo/review")
    assert page.status_code == 200 and run.turns["handover-0"] in page.text
    assert not [secret for secret in run.secrets if secret in page.text]
    form = {"turn_id": run.turns["handover-0"], "answer": "住民票の写しは区民事務所・コンビニで取れます。",
            "source_title": "住民票", "source_url": "https://example.lg.jp/juminhyo", "expires_on": "2099-03-31"}
    assert client.post("/t/tokyo/review/curated", data=form, follow_redirects=False).status_code == 403  # no CSRF
    done = client.post("/t/tokyo/review/curated", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("notice=curated")
    curated = services.corrections.curated_answer_for("tokyo", "住民票の写しを取りたい。連絡先は〔電話番号〕です")
    assert curated is not None and curated.expires_at.year == 2099
    flagged = client.post("/t/tokyo/review/outdated", data={"doc_id": GARBAGE.doc_id, "csrf_token": csrf,
                                                             "turn_id": run.turns["answered-3"]})
    assert flagged.status_code == 200 and "文書を止めました" in flagged.text
    assert services.corrections.outdated_doc_ids("tokyo") == {GARBAGE.doc_id}
    client.post("/t/tokyo/review/outdated/clear", data={"doc_id": GARBAGE.doc_id, "csrf_token": csrf})
    assert services.corrections.outdated_doc_ids("tokyo") == set()
    after = client.get("/t/tokyo/review").text
    assert f'id="item-{run.turns["handover-0"]}"' not in after and f'id="item-{run.turns["answered-3"]}"' not in after
    dismissed = client.post("/t/tokyo/review/dismiss", data={"turn_id": "not-a-turn", "csrf_token": csrf})
    assert dismissed.status_code == 404
