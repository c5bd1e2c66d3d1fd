"""The operator console over HTTP (TestClient) on SQLite and PostgreSQL: sign-in, sessions, CSRF, tenant
isolation, the conversation view and every operator action with its audit row."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalation.queue import HeldClaim
from madoguchi.web.staff_auth import SESSION_COOKIE, SessionSigner
from madoguchi.app import create_app
from storage import append_message, list_audit, list_messages, list_notes, update_operator
from storage.schema import escalations, outbox
from tests.escalation.console_support import (
    DRAFT, PASSWORD, csrf_token, make_escalation, make_operator, make_services, password_hash, sign_in,
)


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(services, clock):
    app = create_app(services, start_background=False)
    app.state.console_signer = SessionSigner(services.settings.secret_key, 3600, clock=clock)
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def sato(db):
    make_operator(db, "sato", ["tokyo"])
    return "sato"


def audit_actions(services, actor=None):
    with services.db.read() as conn:
        rows = list_audit(conn, limit=500)
    return [r.action for r in rows if actor is None or r.actor == actor]


def escalation_row(services, escalation_id):
    with services.db.read() as conn:
        return conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()


def _try_sign_in(client, username, password):
    form = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_token(form.text)})


def claim_via_console(client, csrf, escalation_id) -> str:
    """Claim through the page and return the claim token the page carries."""
    page = client.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": csrf})
    assert page.status_code == 200
    token = page.text.split('name="claim_token" value="')[1].split('"')[0]
    return token


class TestSignIn:
    def test_unauthenticated_pages_redirect_to_the_sign_in_form(self, client):
        response = client.get("/console", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"

    def test_sign_in_sets_an_httponly_samesite_lax_cookie_and_audits(self, client, services, sato):
        form = client.get("/console/login")
        response = client.post("/console/login", follow_redirects=False, data={
            "username": "sato", "password": PASSWORD, "csrf_token": csrf_token(form.text)})
        assert response.status_code == 303
        cookie = next(v for k, v in response.headers.multi_items()
                      if k == "set-cookie" and v.startswith(SESSION_COOKIE + "="))
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Max-Age=3600" in cookie
        assert "console.login" in audit_actions(services, "sato")

    def test_wrong_password_is_refused_and_audited(self, client, services, sato):
        form = client.get("/console/login")
        response = client.post("/console/login", data={"username": "sato", "password": "wrong password",
                                                       "csrf_token": csrf_token(form.text)})
        assert response.status_code == 401 and "パスワードが違います" in response.text
        assert SESSION_COOKIE not in client.cookies
        assert "console.login_failed" in audit_actions(services, "sato")

    def test_repeated_failures_slow_that_client_down_but_never_lock_the_username(self, app, services, sato):
        """Issue 14 item 12: five wrong passwords used to lock the username for everyone for 15 minutes. Now the
        guessing client waits (429, Retry-After, the password not even checked) and the operator, from their own
        client, signs in with the right password at once."""
        with TestClient(app, client=("203.0.113.9", 4000)) as attacker:
            statuses = [_try_sign_in(attacker, "sato", "guess").status_code for _ in range(4)]
            refused = _try_sign_in(attacker, "sato", PASSWORD)
            assert SESSION_COOKIE not in attacker.cookies
        assert statuses == [401, 401, 401, 401]  # three free tries, the fourth failure starts the wait
        assert refused.status_code == 429 and "お待ちください" in refused.text
        assert int(refused.headers["retry-after"]) >= 1
        with TestClient(app, client=("198.51.100.7", 5000)) as operator:
            assert sign_in(operator, "sato")
        assert {"console.login_throttled", "console.login_failed", "console.login"} <= set(audit_actions(services))

    def test_the_wait_doubles_with_each_failure_and_a_success_clears_it(self, app, services, sato):
        from madoguchi.web.sign_in_throttle import MAX_WAIT_SECONDS, backoff_seconds
        from storage.schema import sign_in_failures

        assert [backoff_seconds(n, 3) for n in range(1, 8)] == [0, 0, 0, 1, 2, 4, 8]
        assert backoff_seconds(100, 3) == MAX_WAIT_SECONDS
        with TestClient(app, client=("203.0.113.10", 4000)) as client:
            for _ in range(2):
                _try_sign_in(client, "sato", "guess")
            assert sign_in(client, "sato")
        with services.db.read() as conn:
            scopes = {row.scope: row.failures for row in conn.execute(select(sign_in_failures))}
        assert scopes == {"203.0.113.10|*": 2}  # the username's count is gone; the client's stays

    def test_unknown_user_gets_the_same_answer(self, client):
        form = client.get("/console/login")
        response = client.post("/console/login", data={"username": "nobody", "password": PASSWORD,
                                                       "csrf_token": csrf_token(form.text)})
        assert response.status_code == 401

    def test_sign_in_without_its_csrf_token_is_refused(self, client, sato):
        client.get("/console/login")
        response = client.post("/console/login", data={"username": "sato", "password": PASSWORD})
        assert response.status_code == 403
        assert SESSION_COOKIE not in client.cookies

    def test_passwords_are_stored_as_scrypt_hashes(self, services, sato):
        with services.db.read() as conn:
            from storage import get_operator
            stored = get_operator(conn, "sato").password_hash
        assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored


class TestSession:
    def test_session_expires_after_its_max_age(self, client, clock, sato):
        sign_in(client, "sato")
        clock.now += 3599
        assert client.get("/console").url.path == "/console"
        clock.now += 2
        response = client.get("/console", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"

    def test_a_tampered_cookie_is_no_session(self, client, sato):
        sign_in(client, "sato")
        value = client.cookies[SESSION_COOKIE]
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
        assert client.get("/console", follow_redirects=False).status_code == 303

    def test_changing_the_password_ends_existing_sessions(self, client, services, sato):
        sign_in(client, "sato")
        with services.db.transaction() as conn:
            from storage import get_operator
            update_operator(conn, get_operator(conn, "sato").id, password_hash=password_hash("another password"))
        assert client.get("/console", follow_redirects=False).status_code == 303

    def test_deactivated_operator_is_signed_out(self, client, services, sato):
        sign_in(client, "sato")
        with services.db.transaction() as conn:
            from storage import get_operator
            update_operator(conn, get_operator(conn, "sato").id, active=False)
        assert client.get("/console", follow_redirects=False).status_code == 303

    def test_a_copy_of_the_cookie_is_dead_after_sign_out(self, client, services, sato):
        """Issue 14 item 9: the old cookie used to work for up to 8 hours after signing out."""
        csrf = sign_in(client, "sato")
        copy = client.cookies[SESSION_COOKIE]
        client.post("/console/logout", data={"csrf_token": csrf})
        client.cookies.set(SESSION_COOKIE, copy)
        assert client.get("/console", follow_redirects=False).status_code == 303
        assert client.get("/console/api/queue").status_code == 401

    def test_a_cookie_without_a_recorded_session_signs_nobody_in(self, app, client, services, sato):
        """Signed with the right key, but never started by a sign-in (or revoked): refused."""
        from storage import get_operator

        with services.db.read() as conn:
            row = get_operator(conn, "sato")
        client.cookies.set(SESSION_COOKIE, app.state.console_signer.issue(row))
        assert client.get("/console", follow_redirects=False).status_code == 303

    def test_revoking_all_sessions_signs_every_browser_out(self, app, services, sato):
        from storage import get_operator, revoke_operator_sessions

        with TestClient(app) as laptop, TestClient(app) as phone:
            sign_in(laptop, "sato")
            sign_in(phone, "sato")
            with services.db.transaction() as conn:
                assert revoke_operator_sessions(conn, get_operator(conn, "sato").id, "revoke_sessions") == 2
            assert laptop.get("/console", follow_redirects=False).status_code == 303
            assert phone.get("/console", follow_redirects=False).status_code == 303

    def test_logout_needs_csrf_and_ends_the_session(self, client, services, sato):
        csrf = sign_in(client, "sato")
        assert client.post("/console/logout", data={}).status_code == 403
        client.post("/console/logout", data={"csrf_token": csrf})
        assert client.get("/console", follow_redirects=False).status_code == 303
        assert "console.logout" in audit_actions(services, "sato")


class TestCsrf:
    def test_every_post_without_the_token_is_refused(self, client, services, sato):
        escalation_id, _ = make_escalation(services)
        sign_in(client, "sato")
        for path in ("/console/claim-next", f"/console/escalations/{escalation_id}/claim",
                     f"/console/escalations/{escalation_id}/note", f"/console/escalations/{escalation_id}/reply",
                     f"/console/escalations/{escalation_id}/resolve"):
            assert client.post(path, data={"text": "x", "reason": "x"}).status_code == 403, path
        assert escalation_row(services, escalation_id).state == "queued"

    def test_a_token_from_another_session_is_refused(self, app, client, services, sato):
        make_operator(services.db, "tanaka", ["tokyo"])
        escalation_id, _ = make_escalation(services)
        with TestClient(app) as other:
            foreign = sign_in(other, "tanaka")
        sign_in(client, "sato")
        response = client.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": foreign})
        assert response.status_code == 403
        assert escalation_row(services, escalation_id).state == "queued"

    def test_heartbeat_needs_the_csrf_header(self, client, services, sato):
        escalation_id, _ = make_escalation(services)
        csrf = sign_in(client, "sato")
        token = claim_via_console(client, csrf, escalation_id)
        url = f"/console/escalations/{escalation_id}/heartbeat"
        assert client.post(url, json={"token": token}).status_code == 403
        assert client.post(url, json={"token": token}, headers={"X-CSRF-Token": csrf}).json() == {"ok": True}


class TestTenantIsolation:
    """An operator of Tokyo never sees Amagasaki's conversations, whatever URL they try."""

    @pytest.fixture
    def setup(self, client, services, sato):
        foreign, _ = make_escalation(services, "amagasaki", address="amagasaki-resident",
                                     question="尼崎市の住民票について")
        own, _ = make_escalation(services, "tokyo")
        csrf = sign_in(client, "sato")
        return foreign, own, csrf

    def test_queue_lists_only_own_tenant(self, client, setup):
        foreign, own, _ = setup
        page = client.get("/console").text
        assert own in page and foreign not in page and "尼崎市の住民票" not in page
        ids = [e["id"] for e in client.get("/console/api/queue").json()["entries"]]
        assert ids == [own]

    def test_guessing_the_url_answers_404(self, client, setup):
        foreign, _, csrf = setup
        assert client.get(f"/console/escalations/{foreign}").status_code == 404
        assert client.get(f"/console/escalations/{foreign}/messages").status_code == 404
        assert client.get("/console/escalations/does-not-exist").status_code == 404

    def test_claim_reply_and_note_by_id_answer_404(self, client, services, setup):
        foreign, _, csrf = setup
        for action in ("claim", "reply", "note", "resolve", "transfer", "wait", "return"):
            response = client.post(f"/console/escalations/{foreign}/{action}",
                                   data={"csrf_token": csrf, "text": "x", "reason": "x", "claim_token": "x"})
            assert response.status_code == 404, action
        assert escalation_row(services, foreign).state == "queued"
        with services.db.read() as conn:
            assert list_notes(conn, foreign) == []

    def test_claim_next_never_takes_another_tenants_escalation(self, client, services, setup):
        foreign, own, csrf = setup
        first = client.post("/console/claim-next", data={"csrf_token": csrf})
        assert first.url.path == f"/console/escalations/{own}"
        second = client.post("/console/claim-next", data={"csrf_token": csrf})
        assert second.url.path == "/console" and "対応待ちの問い合わせはありません" in second.text
        assert escalation_row(services, foreign).state == "queued"

    def test_transfer_to_an_operator_of_another_tenant_is_refused(self, client, services, setup):
        _, own, csrf = setup
        make_operator(services.db, "amagasaki-op", ["amagasaki"])
        token = claim_via_console(client, csrf, own)
        response = client.post(f"/console/escalations/{own}/transfer",
                               data={"csrf_token": csrf, "claim_token": token, "to_operator": "amagasaki-op"})
        assert "入力内容を確認" in response.text
        assert escalation_row(services, own).state == "claimed"


class TestConversationView:
    def test_shows_transcript_draft_confidence_sources_risk_channel_and_reason(self, client, services, sato):
        escalation_id, _ = make_escalation(services, channel="line", address="U-line-1", reason="risk",
                                           risk="health")
        csrf = sign_in(client, "sato")
        page = client.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": csrf}).text
        assert "粗大ごみの出し方を教えてください" in page and "担当者におつなぎします" in page
        assert DRAFT in page and "0.42" in page
        assert 'href="https://www.city.setagaya.lg.jp/sodai"' in page and "2014 時点" in page
        assert 'data-risk="health" class="risk">健康' in page and 'id="channel">line' in page
        assert 'data-reason="risk">命・健康・安全などに関わる' in page
        # the draft stands beside the reply box; the box stays empty until the operator chooses the draft
        assert 'id="draft-text">' + DRAFT in page and 'id="use-draft"' in page
        assert '<textarea name="text" id="reply-text" required aria-describedby="reply-keys"></textarea>' in page

    def test_canned_replies_of_the_tenant_are_offered(self, client, services, sato):
        escalation_id, _ = make_escalation(services)
        csrf = sign_in(client, "sato")
        page = client.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": csrf}).text
        canned = services.tenants["tokyo"].get("canned_replies") or []
        assert canned, "config/tenants/tokyo.yaml should list canned_replies"
        first = canned[0]["text"] if isinstance(canned[0], dict) else canned[0]
        assert 'class="canned"' in page and first[:10] in page

    def test_viewing_is_audited(self, client, services, sato):
        escalation_id, _ = make_escalation(services)
        sign_in(client, "sato")
        client.get(f"/console/escalations/{escalation_id}")
        with services.db.read() as conn:
            views = [r for r in list_audit(conn, target=escalation_id) if r.action == "console.view"]
        assert views and views[0].actor == "sato" and views[0].tenant == "tokyo"

    def test_new_messages_are_served_after_the_last_one_shown(self, client, services, sato):
        escalation_id, conversation_id = make_escalation(services)
        sign_in(client, "sato")
        first = client.get(f"/console/escalations/{escalation_id}/messages").json()
        last = first["messages"][-1]["id"]
        with services.db.transaction() as conn:
            append_message(conn, conversation_id=conversation_id, tenant="tokyo", role="resident", text="まだですか")
        later = client.get(f"/console/escalations/{escalation_id}/messages", params={"after": last}).json()
        assert [m["text"] for m in later["messages"]] == ["まだですか"]
        assert later["state"] == "queued" and later["mine"] is False

    def test_pages_and_json_with_residents_words_are_never_cached(self, client, services, sato):
        escalation_id, _ = make_escalation(services)
        sign_in(client, "sato")
        page = client.get(f"/console/escalations/{escalation_id}")
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert client.get(f"/console/escalations/{escalation_id}/messages").headers["cache-control"] == "no-store"
        assert client.get("/console/api/queue").headers["cache-control"] == "no-store"

    def test_json_endpoints_answer_401_when_signed_out(self, client, services):
        escalation_id, _ = make_escalation(services)
        assert client.get("/console/api/queue").status_code == 401
        assert client.get(f"/console/escalations/{escalation_id}/messages").status_code == 401


def test_another_tenants_token_moves_nothing_over_http(app, services, sato, db):
    """The probe's attack over the console: an amagasaki operator posts a tokyo escalation's token to an action on
    their own escalation. It answers "no longer yours" and the tokyo escalation stays as it was."""
    make_operator(db, "yamada", ["amagasaki"])
    tokyo_id, _ = make_escalation(services, "tokyo", address="tokyo-1")
    amagasaki_id, _ = make_escalation(services, "amagasaki", address="amagasaki-1")
    with TestClient(app) as sato_client, TestClient(app) as yamada_client:
        tokyo_token = claim_via_console(sato_client, sign_in(sato_client, "sato"), tokyo_id)
        csrf = sign_in(yamada_client, "yamada")
        claim_via_console(yamada_client, csrf, amagasaki_id)
        outcomes = [yamada_client.post(f"/console/escalations/{amagasaki_id}/{action}",
                                       data={"csrf_token": csrf, "claim_token": tokyo_token, **fields})
                    for action, fields in (("wait", {}), ("resolve", {"reason": "x"}), ("return", {}),
                                           ("transfer", {}), ("reply", {"text": "なりすまし"}))]
        beat = yamada_client.post(f"/console/escalations/{amagasaki_id}/heartbeat", json={"token": tokyo_token},
                                  headers={"X-CSRF-Token": csrf})
        direct = yamada_client.post(f"/console/escalations/{tokyo_id}/wait",
                                    data={"csrf_token": csrf, "claim_token": tokyo_token})
    assert all("もうあなたの担当ではありません" in page.text for page in outcomes)
    assert beat.json() == {"ok": False} and direct.status_code == 404
    row = escalation_row(services, tokyo_id)
    assert (row.state, row.claimed_by) == ("claimed", "sato")
    assert escalation_row(services, amagasaki_id).state == "claimed"


class TestActions:
    @pytest.fixture
    def held(self, client, services, sato):
        escalation_id, conversation_id = make_escalation(services, channel="line", address="U-line-9")
        csrf = sign_in(client, "sato")
        token = claim_via_console(client, csrf, escalation_id)
        return escalation_id, conversation_id, csrf, token

    def test_reply_appends_an_operator_message_and_queues_it_for_line(self, client, services, held):
        escalation_id, conversation_id, csrf, token = held
        page = client.post(f"/console/escalations/{escalation_id}/reply",
                           data={"csrf_token": csrf, "claim_token": token, "text": "受付センターの番号は…です。"})
        assert "返信を送りました" in page.text and "受付センターの番号は…です。" in page.text
        with services.db.read() as conn:
            message = list_messages(conn, conversation_id)[-1]
            queued = conn.execute(select(outbox)).all()
        assert message.role == "operator" and message.meta["operator"] == "sato"
        assert [(r.idempotency_key, r.recipient, r.channel) for r in queued] == [
            (f"operator:{message.id}", "U-line-9", "line")]
        assert escalation_row(services, escalation_id).first_response_at is not None

    def test_reply_with_a_stale_token_sends_nothing(self, client, services, held):
        escalation_id, conversation_id, csrf, token = held
        assert services.queue.transfer(HeldClaim(escalation_id, token, "sato"), None)  # e.g. a supervisor re-queued it
        page = client.post(f"/console/escalations/{escalation_id}/reply",
                           data={"csrf_token": csrf, "claim_token": token, "text": "届いてはいけない返信"})
        assert "もうあなたの担当ではありません" in page.text
        with services.db.read() as conn:
            assert all(m.role != "operator" for m in list_messages(conn, conversation_id))
            assert conn.execute(select(outbox)).all() == []

    def test_note_is_internal_and_audited(self, client, services, held):
        escalation_id, conversation_id, csrf, _ = held
        client.post(f"/console/escalations/{escalation_id}/note", data={"csrf_token": csrf, "text": "電話で再確認"})
        with services.db.read() as conn:
            assert [n.text for n in list_notes(conn, escalation_id)] == ["電話で再確認"]
            assert all(m.text != "電話で再確認" for m in list_messages(conn, conversation_id))
        assert "console.note" in audit_actions(services, "sato")

    def test_waiting_for_resident_then_resolve_with_a_reason(self, client, services, held):
        escalation_id, _, csrf, token = held
        client.post(f"/console/escalations/{escalation_id}/wait", data={"csrf_token": csrf, "claim_token": token})
        assert escalation_row(services, escalation_id).state == "waiting_resident"
        assert client.post(f"/console/escalations/{escalation_id}/resolve",
                           data={"csrf_token": csrf, "claim_token": token, "reason": ""}).url.path != "/console"
        done = client.post(f"/console/escalations/{escalation_id}/resolve",
                           data={"csrf_token": csrf, "claim_token": token, "reason": "電話で案内済み"})
        assert done.url.path == "/console"
        row = escalation_row(services, escalation_id)
        assert row.state == "resolved" and row.resolution_reason == "電話で案内済み"
        actions = audit_actions(services, "sato")
        assert {"escalation.claim", "escalation.wait_resident", "escalation.resolve"} <= set(actions)

    def test_return_to_the_assistant(self, client, services, held):
        escalation_id, _, csrf, token = held
        client.post(f"/console/escalations/{escalation_id}/return",
                    data={"csrf_token": csrf, "claim_token": token, "reason": "FAQで回答可能"})
        assert escalation_row(services, escalation_id).state == "returned"

    def test_transfer_to_a_colleague_only_they_can_claim(self, app, client, services, held):
        escalation_id, _, csrf, token = held
        make_operator(services.db, "tanaka", ["tokyo"])
        make_operator(services.db, "suzuki", ["tokyo"])
        client.post(f"/console/escalations/{escalation_id}/transfer",
                    data={"csrf_token": csrf, "claim_token": token, "to_operator": "tanaka"})
        row = escalation_row(services, escalation_id)
        assert row.state == "queued" and row.assigned_to == "tanaka"
        assert [e["claimable"] for e in client.get("/console/api/queue").json()["entries"]] == [False]
        with TestClient(app) as suzuki:
            other = sign_in(suzuki, "suzuki")
            assert "ほかの担当者" in suzuki.post(f"/console/escalations/{escalation_id}/claim",
                                               data={"csrf_token": other}).text
        with TestClient(app) as tanaka:
            mine = sign_in(tanaka, "tanaka")
            tanaka.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": mine})
        assert escalation_row(services, escalation_id).claimed_by == "tanaka"

    def test_heartbeat_reports_a_lost_claim(self, client, services, held):
        escalation_id, _, csrf, token = held
        assert services.queue.transfer(HeldClaim(escalation_id, token, "sato"), None)
        response = client.post(f"/console/escalations/{escalation_id}/heartbeat", json={"token": token},
                               headers={"X-CSRF-Token": csrf})
        assert response.json() == {"ok": False}


class TestSupervisor:
    def test_operators_may_not_open_the_supervisor_page(self, client, sato):
        sign_in(client, "sato")
        response = client.get("/console/supervisor")
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
        assert "このページは表示できません" in response.text and 'href="/console"' in response.text

    def test_supervisor_sees_load_per_operator_and_breached_slas(self, app, client, services, sato):
        make_operator(services.db, "boss", ["tokyo"], role="supervisor")
        late, _ = make_escalation(services, address="late", sla={"first_response_minutes": -5})
        fresh, _ = make_escalation(services, address="fresh")
        with TestClient(app) as operator:
            operator_csrf = sign_in(operator, "sato")
            claim_via_console(operator, operator_csrf, fresh)
        sign_in(client, "boss")
        page = client.get("/console/supervisor").text
        load = page.split('id="load"')[1].split("</table>")[0]
        assert "sato" in load and "<td>1</td>" in load
        breached = page.split('id="breached"')[1].split("</table>")[0]
        assert late in breached and fresh not in breached


def test_two_operators_pressing_claim_together_one_wins(app, services):
    """Both press 「担当する」 on the same escalation at once: one holds it, the other is told it is taken."""
    import threading

    escalation_id, _ = make_escalation(services)
    names = ["sato", "tanaka", "suzuki", "yamada"]
    clients, tokens = [], []
    for name in names:
        make_operator(services.db, name, ["tokyo"])
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        tokens.append(sign_in(client, name))
    start, pages = threading.Barrier(len(names)), {}

    def press(index):
        start.wait()
        pages[names[index]] = clients[index].post(f"/console/escalations/{escalation_id}/claim",
                                                  data={"csrf_token": tokens[index]}).text

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.__exit__(None, None, None)
    holder = escalation_row(services, escalation_id).claimed_by
    assert holder in names
    assert 'id="reply-form"' in pages[holder]
    assert all("ほかの担当者" in page for name, page in pages.items() if name != holder)
    claims = [r for r in audit_actions(services) if r == "escalation.claim"]
    assert len(claims) == 1
