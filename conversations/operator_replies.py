"""Operator replies to residents, and the satisfaction question after a resolution: one transaction each, from the
claim check to the outbox.

    message_id = send_operator_reply(services, claim, "お待たせしました。…")   # raises StaleClaim

`claim` is the token bound to its escalation and operator (escalation.queue.ClaimKey: a Claim, or the HeldClaim a
page presents). queue.record_reply(claim) runs first and locks the escalation row (PostgreSQL) until the commit, so a claim that
was re-queued or taken by someone else in the meantime sends nothing: the transaction writes no message and no
outbox row, and StaleClaim tells the console to say "this conversation is no longer yours".
The text reaches the resident as every message does (conversations/tell.py): the web chat reads it from the
transcript, every other channel gets it through the outbox, keyed "operator:<message id>", so a retried send
never delivers twice.
"""
from __future__ import annotations

from conversations.ports import ConversationServices
from conversations.tell import OPERATOR, SATISFACTION, tell_resident
from dialogue.compose import Composer
from governance.intake import screen_staff_text
from escalation.queue import ClaimKey, StaleClaim
from storage import get_conversation
from storage.escalations import get_escalation

MAX_REPLY_CHARS = 4000  # LINE caps a text message at 5,000 characters; SMS and voice need far less


def send_operator_reply(services: ConversationServices, claim: ClaimKey, text: str) -> int:
    """Append the operator's reply to the transcript and queue it for the resident's channel; returns the message
    id. Raises StaleClaim (nothing written, nothing sent) when the claim's token no longer holds its escalation for
    its operator, and ValueError for an empty or over-long text."""
    text = screen_staff_text(text.strip())
    if not text or len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"a reply needs 1–{MAX_REPLY_CHARS} characters")
    operator = claim.operator
    with services.db.transaction() as conn:
        if not services.queue.record_reply(conn, claim):
            raise StaleClaim("this escalation is no longer held by your claim")
        escalation = get_escalation(conn, claim.escalation_id)
        conversation = get_conversation(conn, escalation.conversation_id)
        # A person wrote it: the channel must not mark it as an automatic reply (e-mail: RFC 3834).
        message_id = tell_resident(conn, conversation, text, kind=OPERATOR, role="operator",
                                   message_meta={"operator": operator, "escalation_id": escalation.id},
                                   outbox_meta={"operator": True})
        assert message_id is not None  # keyed by the new message's own id: never told before
        return message_id


def ask_for_satisfaction(services: ConversationServices, escalation_id: str) -> int | None:
    """After an operator resolves a conversation, one short satisfaction question (解決した / 解決しない) goes to the
    resident on their channel; the answer comes back as feedback on `escalation:<id>`. Sent once per escalation."""
    feedback_ref = f"escalation:{escalation_id}"
    with services.db.transaction() as conn:
        escalation = get_escalation(conn, escalation_id)
        conversation = get_conversation(conn, escalation.conversation_id) if escalation is not None else None
        if conversation is None or conversation.deleted:
            return None
        composer = Composer(services.tenant(conversation.tenant), tenants_dir=services.settings.tenants_dir)
        text = composer.render("satisfaction", conversation.language or "ja")
        return tell_resident(conn, conversation, text, kind=SATISFACTION, ref=escalation_id,
                             message_meta={"kind": "satisfaction", "feedback_ref": feedback_ref},
                             outbox_meta={"feedback_ref": feedback_ref})

