"""Tunables of the hand-over machinery, from the environment (prefix MADOGUCHI_), with safe defaults.

Kept apart from config/settings.py so this area can grow its knobs without touching the shared settings class.
"""
from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class EscalationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=".env", extra="ignore")

    # A claim whose console stopped heartbeating (every ~10 s) for this long goes back to the queue.
    claim_stale_seconds: float = 45.0
    # How often the SLA watcher re-queues stale claims and sends holding messages.
    sla_check_seconds: float = 5.0
    # How often the Slack notifier looks for new escalations; ordinary ones are posted together this often.
    slack_poll_seconds: float = 2.0
    slack_batch_seconds: float = 60.0
    # An operator's sign-in lasts one shift at most.
    session_max_age_seconds: int = 8 * 3600


@lru_cache
def get_escalation_settings() -> EscalationSettings:
    return EscalationSettings()
