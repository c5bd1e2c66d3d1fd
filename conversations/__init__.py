"""The durable path, the same for every channel: the inbox (record every inbound event first, unique on the
provider's id) → the inbox worker runs the turn → one transaction stores messages, turn, audit row, escalation
and outbox reply → the outbox sender delivers once per idempotency key. Also here: telling the resident (tell.py),
operator replies, the voice call flow, the e-mail gateway, leases and PostgreSQL wake-ups."""
