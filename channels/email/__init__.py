"""E-mail: the adapter (adapter.py) and what it is made of, one concern per module."""
from channels.email.adapter import EmailAdapter, SmtpSettings, parse_email, reply_subject
from channels.email.imap import ImapPoller, ImapSettings
from channels.email.mime import decode_iso2022jp_windows, html_to_text
from channels.email.quoting import quote_sparingly, strip_quoted
from channels.email.smtp_server import EmailInboundServer

__all__ = ["EmailAdapter", "EmailInboundServer", "ImapPoller", "ImapSettings", "SmtpSettings",
           "decode_iso2022jp_windows", "html_to_text", "parse_email", "quote_sparingly", "reply_subject",
           "strip_quoted"]
