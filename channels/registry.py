"""Every channel, one line each, and each tenant's adapters built from its YAML `channels:` section and the
environment (channels/config.py: secrets only from the environment, named MADOGUCHI_<TENANT>_<CHANNEL>_<KEY>).

Adding a channel is one module (a `channels.base.Channel` subclass) and one line in CHANNELS: the webhook route,
the outbox sender and the durable path ask the class what they need and never the channel's name.

    channels:
      line: {}                                  # env: ..._LINE_CHANNEL_SECRET, ..._LINE_CHANNEL_ACCESS_TOKEN
      voice:                                    # env: ..._VOICE_ACCOUNT_SID, ..._VOICE_AUTH_TOKEN
        sms_from: "+815012345678"
        operator_queue: tokyo-operators         # or operator_number; default: contact.phone
        voice: Polly.Mizuki
      email:                                    # env: ..._EMAIL_SMTP_PASSWORD, ..._EMAIL_IMAP_PASSWORD
        address: soudan@city.example.lg.jp
        smtp_host: smtp.city.example.lg.jp
        smtp_port: 587
        smtp_starttls: true
        smtp_username: soudan
        imap_host: imap.city.example.lg.jp      # optional: poll a mailbox as well as (or instead of) SMTP in
      slack:                                    # env: ..._SLACK_SIGNING_SECRET, ..._SLACK_BOT_TOKEN
        alert_channel: C0123456789
      line_off_example: {enabled: false}        # `enabled: false` turns a configured channel off
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from channels.base import Channel
from channels.config import ChannelConfig, MissingSettingsError
from channels.email import EmailAdapter
from channels.line import LineAdapter
from channels.rest import RasaRestChannel
from channels.slack import SlackAdapter
from channels.voice import VoiceAdapter
from channels.web import WebChannel
from config.settings import Settings, get_settings
from config.tenancy import Tenant

log = logging.getLogger(__name__)

CHANNELS: dict[str, type[Channel]] = {channel.name: channel for channel in (
    WebChannel,
    LineAdapter,
    VoiceAdapter,
    EmailAdapter,
    SlackAdapter,
    RasaRestChannel,
)}


def channel_class(name: str) -> type[Channel]:
    """The class of a channel by name; an unknown name (a row written by a removed channel) gets the defaults."""
    return CHANNELS.get(name, Channel)


def configurable_channels() -> list[str]:
    return [name for name, channel in CHANNELS.items() if channel.configurable]


@dataclass(frozen=True)
class ChannelStatus:
    tenant: str
    channel: str
    on: bool
    reason: str = ""

    def describe(self) -> str:
        state = "on" if self.on else f"off ({self.reason})"
        return f"{self.tenant}/{self.channel}: {state}"


@dataclass
class TenantChannels:
    tenant: str
    adapters: dict[str, Channel] = field(default_factory=dict)
    statuses: list[ChannelStatus] = field(default_factory=list)
    imap: Any = None  # channels.email.ImapSettings when the email channel also polls a mailbox

    def get(self, channel: str) -> Any:
        return self.adapters.get(channel)

    @property
    def off(self) -> dict[str, str]:
        return {s.channel: s.reason for s in self.statuses if not s.on}


def build_tenant_channels(tenant: Tenant, env: Mapping[str, str] | None = None,
                          settings: Settings | None = None) -> TenantChannels:
    env = os.environ if env is None else env
    settings = settings or get_settings()
    built = TenantChannels(tenant.id)
    for name in configurable_channels():
        channel = CHANNELS[name]
        config = ChannelConfig(tenant, name, env, channel.secret_keys)
        status, adapter = _build_one(channel, config, settings)
        built.statuses.append(status)
        if adapter is not None:
            built.adapters[name] = adapter
            built.imap = built.imap or channel.mailbox(config)
    return built


def _build_one(channel: type[Channel], config: ChannelConfig,
               settings: Settings) -> tuple[ChannelStatus, Channel | None]:
    tenant, name = config.tenant.id, config.channel
    if config.disabled:
        return ChannelStatus(tenant, name, False, "disabled in config"), None
    try:
        adapter = channel.from_config(config, settings)
    except MissingSettingsError as missing:
        return ChannelStatus(tenant, name, False, f"missing {missing}"), None
    except ValueError as invalid:  # a malformed number or port: off, and say why
        return ChannelStatus(tenant, name, False, f"invalid settings: {invalid}"), None
    return ChannelStatus(tenant, name, True), adapter


def build_channels(tenants: Iterable[Tenant], env: Mapping[str, str] | None = None,
                   settings: Settings | None = None) -> dict[str, TenantChannels]:
    return {t.id: build_tenant_channels(t, env, settings) for t in tenants}


def log_channel_status(channels: Mapping[str, TenantChannels], logger: logging.Logger = log) -> list[str]:
    """Say at start-up which channels are on and which are off (and what would turn them on)."""
    lines = [s.describe() for built in channels.values() for s in built.statuses]
    for status, line in zip((s for b in channels.values() for s in b.statuses), lines, strict=True):
        logger.log(logging.INFO if status.on else logging.WARNING, "channel %s", line)
    return lines
