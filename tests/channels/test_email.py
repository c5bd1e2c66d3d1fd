"""EmailAdapter: Japanese mail parsing, loop protection, threaded replies over a real SMTP server (aiosmtpd),
the SMTP endpoint, and the IMAP poller against an IMAP4 test double on loopback."""
from __future__ import annotations

import base64
import imaplib
import smtplib
import threading
from email import policy
from email.parser import BytesParser

import pytest

from channels.base import PayloadError
from core.messages import InboundEvent, OutboundMessage
from channels.email import (
    EmailAdapter,
    EmailInboundServer,
    ImapPoller,
    ImapSettings,
    SmtpSettings,
    decode_iso2022jp_windows,
    html_to_text,
    parse_email,
    reply_subject,
    strip_quoted,
)
from channels.email.smtp_server import _PortZeroController
from tests.channels.imap_double import ImapDouble

CITY = "soudan@city.example.lg.jp"


def message_id(event):
    """The Message-ID part of an e-mail event's external id (the rest is a digest of what the mail says)."""
    return event.external_id.split("#", 1)[0]


def encoded_word(text: str, charset: str = "iso-2022-jp") -> str:
    return f"=?{charset.upper()}?B?{base64.b64encode(text.encode(charset.replace('-', '_'))).decode()}?="


def iso2022jp_mail(body: bytes, subject: str = "粗大ごみについて", message_id: str = "<q1@example.jp>",
                   extra: str = "") -> bytes:
    head = (f"From: {encoded_word('山田太郎')} <Taro@Example.jp>\r\nTo: {CITY}\r\n"
            f"Subject: {encoded_word(subject)}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Mon, 01 Apr 2024 10:00:00 +0900\r\nMIME-Version: 1.0\r\n{extra}"
            "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
    return head.encode("ascii") + body


def utf8_mail(body: str, *, sender: str = "hanako@example.jp", cte: str = "quoted-printable",
              extra: str = "", message_id: str = "<q2@example.jp>", subtype: str = "plain") -> bytes:
    import quopri
    encoded = quopri.encodestring(body.encode()).decode() if cte == "quoted-printable" else \
        base64.encodebytes(body.encode()).decode()
    return (f"From: {sender}\r\nTo: {CITY}\r\nSubject: {encoded_word('質問', 'utf-8')}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n{extra}"
            f"Content-Type: text/{subtype}; charset=UTF-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            f"{encoded}").encode()


@pytest.fixture
def adapter():
    return EmailAdapter("tokyo", CITY, SmtpSettings("127.0.0.1", 0), display_name="東京都 お問い合わせ窓口")


class TestParsing:
    def test_what_is_kept_of_a_huge_subject_and_thread_is_bounded(self, adapter):
        from channels.email.adapter import REFERENCES_KEPT, SUBJECT_LIMIT

        references = " ".join(f"<r{i}@example.jp>" for i in range(500))
        raw = utf8_mail("資源ごみの日は？", extra=f"References: {references}\r\n").replace(
            b"Subject: ", b"Subject: " + ("長" * 5000).encode() + b" ", 1)
        [event] = adapter.parse(raw, {})
        assert len(event.meta["subject"]) == SUBJECT_LIMIT
        assert event.meta["references"] == [f"<r{i}@example.jp>" for i in range(500 - REFERENCES_KEPT, 500)]
        assert event.text == "資源ごみの日は？"

    def test_iso_2022_jp_body_and_encoded_headers(self, adapter):
        [event] = adapter.parse(iso2022jp_mail("粗大ごみの出し方を教えてください。".encode("iso2022_jp")), {})
        assert (event.channel, event.tenant, event.kind) == ("email", "tokyo", "message")
        assert event.external_id.startswith("<q1@example.jp>#")  # the Message-ID, then a digest of the mail
        assert event.sender == "taro@example.jp"
        assert event.text == "粗大ごみの出し方を教えてください。"
        assert event.meta["subject"] == "粗大ごみについて"
        assert event.received_at is not None and event.received_at.utcoffset().total_seconds() == 9 * 3600
        assert event.meta["do_not_answer"] is False

    def test_iso_2022_jp_with_windows_extension_characters(self):
        body = b"\x1b$B-!HV9f\x1b(B 3\x1b$B3,\x1b(B"  # ①番号 3階: ① is NEC row 13, outside JIS X 0208
        event = parse_email(iso2022jp_mail(body), "tokyo")
        assert event.text == "①番号 3階"
        assert decode_iso2022jp_windows(b"\x1b(I6E\x1b(B") == "ｶﾅ"

    def test_utf8_quoted_printable(self, adapter):
        [event] = adapter.parse(utf8_mail("住民票の写しはどこで取れますか？\n平日は来庁できません。"), {})
        assert event.text == "住民票の写しはどこで取れますか？\n平日は来庁できません。"
        assert event.meta["subject"] == "質問"

    def test_utf8_base64_with_an_attachment_noted_but_not_opened(self):
        raw = (f"From: a@example.jp\r\nTo: {CITY}\r\nSubject: x\r\nMessage-ID: <m3@x>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
               "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               f"{base64.b64encode('申請書を添付します。'.encode()).decode()}\r\n--BB\r\n"
               "Content-Type: application/pdf; name=\"shinsei.pdf\"\r\n"
               "Content-Disposition: attachment; filename=\"shinsei.pdf\"\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n"
               f"{base64.b64encode(b'%PDF-1.4 ' + bytes(1000)).decode()}\r\n--BB--\r\n").encode()
        event = parse_email(raw, "tokyo")
        assert event.text == "申請書を添付します。"
        assert event.meta["attachments"] == [{"filename": "shinsei.pdf", "content_type": "application/pdf",
                                              "size": 1009}]

    def test_html_only_mail_becomes_text_without_quoted_history(self):
        html = ("<html><head><style>p{color:red}</style></head><body><p>ごみの収集日を<b>教えて</b>ください。"
                "<br>世田谷区です &amp; 急ぎです。</p><div class=\"gmail_quote\">2024年3月1日 山田 wrote:"
                "<blockquote><p>以前の質問</blockquote></div><p>よろしくお願いします。</body></html>")
        event = parse_email(utf8_mail(html, subtype="html", cte="base64"), "tokyo")
        assert event.meta["html_only"] is True
        assert event.text == "ごみの収集日を教えてください。\n世田谷区です & 急ぎです。\n\nよろしくお願いします。"

    def test_shift_jis_html_is_decoded_through_cp932(self):
        body = "<p>髙橋です。①について</p>".encode("cp932")
        raw = (b"From: t@example.jp\r\nMessage-ID: <s@x>\r\nContent-Type: text/html; charset=Shift_JIS\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
        assert parse_email(raw, "tokyo").text == "髙橋です。①について"

    def test_message_without_message_id_gets_a_stable_id(self):
        raw = b"From: a@example.jp\r\nSubject: x\r\n\r\nhello\r\n"
        first, second = parse_email(raw, "t"), parse_email(raw, "t")
        assert first.external_id.startswith("sha256:") and first.external_id == second.external_id

    def test_reply_to_and_threading_headers_are_kept(self):
        raw = utf8_mail("追加で質問です。", extra="Reply-To: other@example.jp\r\nIn-Reply-To: <a@city>\r\n"
                                                 "References: <root@x> <a@city>\r\n")
        event = parse_email(raw, "t")
        assert event.meta["reply_to"] == "other@example.jp"
        assert event.meta["in_reply_to"] == "<a@city>"
        assert event.meta["references"] == ["<root@x>", "<a@city>"]

    @pytest.mark.parametrize("raw, reason", [
        (b"", "empty"),
        (b"Subject: no sender\r\n\r\nbody", "From"),
        (b"From: not an address\r\n\r\nbody", "From"),
    ])
    def test_malformed_messages_raise_with_a_reason(self, raw, reason):
        with pytest.raises(PayloadError, match=reason):
            parse_email(raw, "t")


class TestQuotedHistoryAndSignature:
    def test_japanese_attribution_and_quotes_are_removed(self):
        text = ("ご回答ありがとうございます。\n追加で、土曜日も受付していますか。\n\n"
                "2024年4月1日(月) 10:00 東京都 <soudan@city.example.lg.jp>:\n> 粗大ごみは事前申込制です。\n")
        assert strip_quoted(text) == "ご回答ありがとうございます。\n追加で、土曜日も受付していますか。"

    def test_english_attribution_and_outlook_header_block(self):
        assert strip_quoted("Thanks.\n\nOn Mon, Apr 1, 2024 at 10:00 AM City <c@x> wrote:\n> old") == "Thanks."
        outlook = "了解です。\n\n差出人: 東京都\n送信日時: 2024年4月1日 10:00\n宛先: me\n件名: Re: x\n\n本文"
        assert strip_quoted(outlook) == "了解です。"

    def test_signatures_are_removed(self):
        assert strip_quoted("保育園の申込みについて。\n\n-- \n山田太郎\n090-0000-0000") == "保育園の申込みについて。"
        signature = "保育園の申込みについて。\n\n━━━━━━━━━━\n山田太郎\n東京都新宿区\n━━━━━━━━━━"
        assert strip_quoted(signature) == "保育園の申込みについて。"

    def test_inline_quote_lines_are_dropped_but_answers_between_kept(self):
        text = "> 平日は何時までですか\n17時までです、とのことですが\n> 土曜は？\n土曜も知りたいです。"
        assert strip_quoted(text) == "17時までです、とのことですが\n土曜も知りたいです。"

    def test_html_helper_keeps_paragraphs(self):
        text = html_to_text("<p>一<p>二<ul><li>三<li>四</ul><script>alert(1)</script>")
        assert [line for line in text.split("\n") if line] == ["一", "二", "三", "四"]


class TestDoNotAnswer:
    @pytest.mark.parametrize("extra, sender, reason", [
        ("Auto-Submitted: auto-replied\r\n", "a@example.jp", "auto-submitted:auto-replied"),
        ("Precedence: bulk\r\n", "a@example.jp", "precedence:bulk"),
        ("Precedence: junk\r\n", "a@example.jp", "precedence:junk"),
        ("X-Autoreply: yes\r\n", "a@example.jp", "header:x-autoreply"),
        ("X-Auto-Response-Suppress: All\r\n", "a@example.jp", "x-auto-response-suppress"),
        ("List-Id: <news.example.jp>\r\n", "a@example.jp", "mailing-list"),
        ("Return-Path: <>\r\n", "a@example.jp", "null-sender"),
        ("", "MAILER-DAEMON@mx.example.jp", "bounce-sender"),
        ("", "postmaster@example.jp", "bounce-sender"),
        ("", "no-reply@shop.example.jp", "no-reply-sender"),
        ("", "noreply+abc@example.jp", "no-reply-sender"),
        ("", "do-not-reply@example.jp", "no-reply-sender"),
    ])
    def test_flagged_not_dropped(self, extra, sender, reason):
        event = parse_email(utf8_mail("自動送信です", sender=sender, extra=extra), "t")
        assert event.meta["do_not_answer"] is True
        assert reason in event.meta["auto_reasons"]
        assert event.text == "自動送信です"  # still readable by an operator

    def test_auto_submitted_no_is_a_person(self):
        event = parse_email(utf8_mail("質問です", extra="Auto-Submitted: no\r\n"), "t")
        assert event.meta["do_not_answer"] is False

    def test_delivery_report_is_a_bounce(self):
        raw = (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.jp>\r\nMessage-ID: <b@mx>\r\n"
               b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n--R\r\n"
               b"Content-Type: text/plain\r\n\r\nDelivery failed.\r\n--R\r\n"
               b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--R--\r\n")
        event = parse_email(raw, "t")
        assert {"bounce-sender", "delivery-report"} <= set(event.meta["auto_reasons"])

    def test_our_own_address_is_never_answered(self, adapter):
        [event] = adapter.parse(utf8_mail("転送されてきた自分の返信", sender=CITY.upper()), {})
        assert event.meta["do_not_answer"] and event.meta["auto_reasons"] == ["own-address"]

    def test_null_envelope_sender_from_smtp(self, adapter):
        [event] = adapter.parse(utf8_mail("x"), {"X-Envelope-From": "<>"})
        assert "null-sender" in event.meta["auto_reasons"]


class TestReplies:
    def reply(self, adapter, **meta) -> OutboundMessage:
        return OutboundMessage(channel="email", tenant="tokyo", recipient="taro@example.jp",
                               text="粗大ごみは事前申込制です。", idempotency_key="turn-9:reply",
                               meta={"subject": "Re: RE: Re[2]: 粗大ごみについて", "in_reply_to": "<q1@example.jp>",
                                     "references": ["<root@example.jp>", "<q1@example.jp>"], **meta})

    def test_reply_keeps_the_thread(self, adapter):
        message = adapter.build_reply(self.reply(adapter))
        assert message["Subject"] == "Re: 粗大ごみについて"
        assert message["In-Reply-To"] == "<q1@example.jp>"
        assert message["References"] == "<root@example.jp> <q1@example.jp>"
        assert message["Auto-Submitted"] == "auto-replied"  # RFC 3834: other robots will not answer it
        assert message["Message-ID"].endswith("@city.example.lg.jp>")

    def test_message_id_is_derived_from_the_idempotency_key(self, adapter):
        first = adapter.build_reply(self.reply(adapter))["Message-ID"]
        assert first == adapter.build_reply(self.reply(adapter))["Message-ID"]

    def test_operator_replies_are_not_marked_automatic(self, adapter):
        assert adapter.build_reply(self.reply(adapter, operator=True))["Auto-Submitted"] is None

    def test_quotes_sparingly_and_numbers_choices(self, adapter):
        quote = "\n".join(f"{i}行目の質問" for i in range(1, 10)) + "\n\n-- \n署名"
        message = OutboundMessage(channel="email", tenant="tokyo", recipient="t@example.jp", text="どちらですか。",
                                  idempotency_key="k", choices=("粗大ごみ", "資源ごみ"), meta={"quote": quote})
        body = adapter.build_reply(message).get_content().replace("\r\n", "\n")
        assert "1. 粗大ごみ\n2. 資源ごみ" in body
        assert body.count("> ") == 5 and "> 4行目の質問" in body and "5行目" not in body and "> …" in body
        assert "署名" not in body

    def test_long_reference_chains_keep_root_and_recent(self, adapter):
        refs = [f"<r{i}@x>" for i in range(30)]
        message = adapter.build_reply(self.reply(adapter, references=refs, in_reply_to="<r29@x>"))
        chain = message["References"].split()
        assert len(chain) == 10 and chain[0] == "<r0@x>" and chain[-1] == "<r29@x>"

    @pytest.mark.parametrize("subject, expected", [
        ("質問", "Re: 質問"), ("Re: 質問", "Re: 質問"), ("RE:Re: Fwd: 質問", "Re: 質問"), ("返信: 質問", "Re: 質問"),
        ("Re[3]: 質問", "Re: 質問"), ("Réunion", "Re: Réunion"),
    ])
    def test_reply_subject_never_stacks(self, subject, expected):
        assert reply_subject(subject) == expected


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives, like the resident's provider."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        sink = self

        class Keep:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                sink.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.original_content))
                return "250 OK"

        self.controller = _PortZeroController(Keep(), hostname="127.0.0.1", port=0)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


def test_send_delivers_over_smtp_once_per_key(sink):
    adapter = EmailAdapter("tokyo", CITY, SmtpSettings("127.0.0.1", sink.controller.port),
                           display_name="東京都 都民の声総合窓口")
    message = OutboundMessage(channel="email", tenant="tokyo", recipient="taro@example.jp", text="回答です。",
                              idempotency_key="k1", meta={"subject": "質問"})
    adapter.send(message)
    adapter.send(message)
    [(mail_from, rcpt_tos, raw)] = sink.received
    assert (mail_from, rcpt_tos) == (CITY, ["taro@example.jp"])
    delivered = BytesParser(policy=policy.default).parsebytes(raw)
    assert delivered.get_content().strip() == "回答です。"
    assert delivered["From"].addresses[0].display_name == "東京都 都民の声総合窓口"
    assert delivered["Subject"] == "Re: 質問"
    assert raw.isascii()  # 7-bit clean on the wire: headers as encoded words, body base64 or quoted-printable


class TestSmtpEndpoint:
    def serve(self, adapter, callback):
        return EmailInboundServer([adapter], callback, host="127.0.0.1", port=0)

    def test_accepted_mail_reaches_the_callback(self, adapter):
        received: list[InboundEvent] = []
        with self.serve(adapter, received.extend) as server:
            with smtplib.SMTP(server.host, server.port) as client:
                client.sendmail("taro@example.jp", [CITY.upper()], iso2022jp_mail("質問です。".encode("iso2022_jp")))
        [event] = received
        assert (event.text, message_id(event)) == ("質問です。", "<q1@example.jp>")

    def test_async_callback(self, adapter):
        received: list[InboundEvent] = []

        async def record(events):
            received.extend(events)

        with self.serve(adapter, record) as server, smtplib.SMTP(server.host, server.port) as client:
            client.sendmail("a@example.jp", [CITY], utf8_mail("非同期"))
        assert [e.text for e in received] == ["非同期"]

    def test_unknown_recipient_is_refused_no_open_relay(self, adapter):
        received: list[InboundEvent] = []
        with self.serve(adapter, received.extend) as server, smtplib.SMTP(server.host, server.port) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("a@example.jp", ["someone@elsewhere.example"], utf8_mail("x"))
        assert received == []

    def test_failing_callback_makes_the_sender_retry(self, adapter):
        def broken(events):
            raise RuntimeError("database is down")

        with self.serve(adapter, broken) as server, smtplib.SMTP(server.host, server.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("a@example.jp", [CITY], utf8_mail("x"))
        assert refused.value.smtp_code == 451

    def test_malformed_mail_is_refused_permanently(self, adapter):
        received: list[InboundEvent] = []
        with self.serve(adapter, received.extend) as server, smtplib.SMTP(server.host, server.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("a@example.jp", [CITY], b"Subject: nobody\r\n\r\nbody")
        assert refused.value.smtp_code == 550 and received == []

    def test_bounce_with_null_sender_arrives_flagged(self, adapter):
        received: list[InboundEvent] = []
        with self.serve(adapter, received.extend) as server, smtplib.SMTP(server.host, server.port) as client:
            client.sendmail("", [CITY], utf8_mail("Undeliverable", sender="postmaster@mx.example.jp"))
        assert received[0].meta["do_not_answer"] and "null-sender" in received[0].meta["auto_reasons"]


@pytest.fixture
def imap():
    with ImapDouble() as double:
        yield double


def poller(adapter, imap, callback) -> ImapPoller:
    settings = ImapSettings("127.0.0.1", "madoguchi", "imap-pass", port=imap.port, use_ssl=False, timeout_s=5)
    return ImapPoller(adapter, settings, callback)


class TestImapPoller:
    def test_unseen_mail_is_handed_over_then_marked_seen(self, adapter, imap):
        first = imap.deliver(iso2022jp_mail("一通目".encode("iso2022_jp"), message_id="<m1@x>"))
        second = imap.deliver(utf8_mail("二通目", message_id="<m2@x>"))
        imap.messages[0].flags.add("\\Seen")  # already read before: left alone
        old = imap.deliver(utf8_mail("既読", message_id="<m0@x>"))
        imap.messages[-1].flags.add("\\Seen")
        received: list[InboundEvent] = []
        assert poller(adapter, imap, received.extend).poll_once() == 1
        assert [message_id(e) for e in received] == ["<m2@x>"]
        assert "\\Seen" in imap.flags_of(second)
        assert imap.flags_of(first) == imap.flags_of(old) == {"\\Seen"}  # untouched
        assert any(c.endswith("UID SEARCH UNSEEN") for c in imap.commands)
        assert any("BODY.PEEK[]" in c for c in imap.commands)  # not RFC822: that would mark it read too early

    def test_second_poll_finds_nothing_new(self, adapter, imap):
        imap.deliver(utf8_mail("一通", message_id="<m1@x>"))
        received: list[InboundEvent] = []
        poll = poller(adapter, imap, received.extend)
        assert (poll.poll_once(), poll.poll_once()) == (1, 0)
        assert len(received) == 1

    def test_failed_callback_leaves_the_message_unseen_for_the_next_poll(self, adapter, imap):
        uid = imap.deliver(utf8_mail("再試行", message_id="<r@x>"))
        attempts: list[str] = []

        def flaky(events):
            attempts.append(message_id(events[0]))
            if len(attempts) == 1:
                raise RuntimeError("database is down")

        poll = poller(adapter, imap, flaky)
        assert poll.poll_once() == 0 and "\\Seen" not in imap.flags_of(uid)
        assert poll.poll_once() == 1 and "\\Seen" in imap.flags_of(uid)
        assert attempts == ["<r@x>", "<r@x>"]

    def test_malformed_mail_is_flagged_for_a_person_and_does_not_block(self, adapter, imap):
        bad = imap.deliver(b"Subject: no sender\r\n\r\nbody")
        good = imap.deliver(utf8_mail("正常", message_id="<g@x>"))
        received: list[InboundEvent] = []
        assert poller(adapter, imap, received.extend).poll_once() == 1
        assert imap.flags_of(bad) == {"\\Seen", "\\Flagged"}
        assert "\\Seen" in imap.flags_of(good) and received[0].text == "正常"

    def test_wrong_password_raises(self, adapter, imap):
        settings = ImapSettings("127.0.0.1", "madoguchi", "wrong", port=imap.port, use_ssl=False, timeout_s=5)
        with pytest.raises(imaplib.IMAP4.error):
            ImapPoller(adapter, settings, lambda events: None).poll_once()

    def test_run_polls_until_stopped(self, adapter, imap):
        imap.deliver(utf8_mail("ループ", message_id="<loop@x>"))
        stop = threading.Event()
        received: list[InboundEvent] = []

        def record(events):
            received.extend(events)
            stop.set()

        worker = threading.Thread(target=poller(adapter, imap, record).run, args=(stop, 0.05))
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive() and [message_id(e) for e in received] == ["<loop@x>"]

    def test_the_double_is_faithful_rfc822_fetch_marks_seen(self, imap):
        uid = imap.deliver(utf8_mail("x"))
        client = imaplib.IMAP4("127.0.0.1", imap.port, timeout=5)
        client.login("madoguchi", "imap-pass")
        client.select("INBOX")
        status, data = client.fetch("1", "(RFC822)")
        client.logout()
        assert status == "OK" and data[0][1].startswith(b"From: hanako@example.jp")
        assert "\\Seen" in imap.flags_of(uid)


def test_end_to_end_mail_in_threaded_reply_out_and_no_loop(adapter, sink):
    """A resident's ISO-2022-JP mail arrives over SMTP → event → threaded reply over SMTP to the resident's
    server → if that reply bounced back to us as mail, we would flag it and not answer (no loop)."""
    received: list[InboundEvent] = []
    question = iso2022jp_mail("粗大ごみの申込み方法を教えてください。\n\n-- \n山田".encode("iso2022_jp"),
                              extra="References: <root@example.jp>\r\n")
    with EmailInboundServer([adapter], received.extend, host="127.0.0.1", port=0) as server:
        with smtplib.SMTP(server.host, server.port) as client:
            client.sendmail("taro@example.jp", [CITY], question)
    [event] = received
    assert event.text == "粗大ごみの申込み方法を教えてください。"

    outgoing = EmailAdapter("tokyo", CITY, SmtpSettings("127.0.0.1", sink.controller.port))
    outgoing.send(OutboundMessage(
        channel="email", tenant=event.tenant, recipient=event.meta["reply_to"], text="粗大ごみは事前申込制です。",
        idempotency_key=f"{event.external_id}:reply", meta={"subject": event.meta["subject"],
                                                            "in_reply_to": event.meta["message_id"],
                                                            "references": event.meta["references"],
                                                            "quote": event.text}))
    [(_, rcpt_tos, raw)] = sink.received
    assert rcpt_tos == ["taro@example.jp"]
    reply = BytesParser(policy=policy.default).parsebytes(raw)
    assert reply["Subject"] == "Re: 粗大ごみについて"
    assert reply["In-Reply-To"] == "<q1@example.jp>"
    assert reply["References"] == "<root@example.jp> <q1@example.jp>"
    assert "> 粗大ごみの申込み方法を教えてください。" in reply.get_content()
    echoed = parse_email(raw, "tokyo")
    assert echoed.meta["do_not_answer"] and "auto-submitted:auto-replied" in echoed.meta["auto_reasons"]
