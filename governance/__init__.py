"""Responsible-AI governance: personal-data redaction (pii) and log redaction (logging)."""
from governance.logging import RedactingFilter, RedactingFormatter, install_redacting_logging
from governance.pii import PLACEHOLDERS, Match, Redactor, contains_pii, find_pii, redact, redact_value

__all__ = [
    "PLACEHOLDERS",
    "Match",
    "RedactingFilter",
    "RedactingFormatter",
    "Redactor",
    "contains_pii",
    "find_pii",
    "install_redacting_logging",
    "redact",
    "redact_value",
]
