"""Each tenant's channel adapters, built from its YAML `channels:` section and the environment.

Non-secret settings live in the tenant YAML; secrets only in the environment, named
MADOGUCHI_<TENANT>_<CHANNEL>_<KEY> (e.g. MADOGUCHI_TOKYO_LINE_CHANNEL_SECRET). The environment also overrides any
YAML value. A channel whose required settings are missing is off, and says which variables would turn it on:

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
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from channels.base import ChannelAdapter
from channels.email import EmailAdapter, ImapSettings, SmtpSettings
from channels.line import LINE_API_HOST, LineAdapter
from channels.slack import SlackAdapter
from channels.voice import CallScript, VoiceAdapter, to_e164
from config.settings import Settings, get_settings
from config.tenancy import Tenant

log = logging.getLogger(__name__)

CHANNELS = ("line", "voice", "email", "slack")
# Never read from YAML (it is committed); only from the environment.
SECRET_KEYS = {"channel_secret", "channel_access_token", "auth_token", "signing_secret", "bot_token",
               "smtp_password", "imap_password"}


class MissingSettingsError(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


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
    adapters: dict[str, ChannelAdapter] = field(default_factory=dict)
    statuses: list[ChannelStatus] = field(default_factory=list)
    imap: ImapSettings | None = None  # set when the email channel also polls a mailbox

    def get(self, channel: str) -> ChannelAdapter | None:
        return self.adapters.get(channel)

    @property
    def off(self) -> dict[str, str]:
        return {s.channel: s.reason for s in self.statuses if not s.on}


class ChannelConfig:
    """One channel's settings for one tenant: environment first, then YAML (secrets: environment only)."""

    def __init__(self, tenant: Tenant, channel: str, env: Mapping[str, str]) -> None:
        self.tenant, self.channel, self._env = tenant, channel, env
        self._yaml = (tenant.raw.get("channels") or {}).get(channel) or {}
        for key in SECRET_KEYS & set(self._yaml):
            log.warning("%s/%s: ignoring %r in YAML; secrets come from %s", tenant.id, channel, key,
                        self.env_name(key))

    def env_name(self, key: str) -> str:
        return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part).upper()
                        for part in ("MADOGUCHI", self.tenant.id, self.channel, key))

    @property
    def disabled(self) -> bool:
        return str(self._yaml.get("enabled", True)).lower() in ("false", "0", "no", "off")

    def get(self, key: str, default: Any = None) -> Any:
        value = self._env.get(self.env_name(key))
        if value not in (None, ""):
            return value
        if key in SECRET_KEYS:
            return default
        value = self._yaml.get(key)
        return default if value in (None, "") else value

    def require(self, *keys: str) -> list[Any]:
        values = [self.get(k) for k in keys]
        missing = [self.env_name(k) for k, v in zip(keys, values, strict=True) if v is None]
        if missing:
            raise MissingSettingsError(missing)
        return values

    def flag(self, key: str, default: bool = False) -> bool:
        return str(self.get(key, default)).lower() in ("true", "1", "yes", "on")


# -- one builder per channel ---------------------------------------------------------------------------------------

def build_line(config: ChannelConfig, settings: Settings) -> LineAdapter:
    secret, token = config.require("channel_secret", "channel_access_token")
    return LineAdapter(config.tenant.id, secret, token, api_host=config.get("api_host", LINE_API_HOST),
                       reply_token_max_age_s=float(config.get("reply_token_max_age_s", 50)))


def build_voice(config: ChannelConfig, settings: Settings) -> VoiceAdapter:
    sid, token = config.require("account_sid", "auth_token")
    contact = config.tenant.contact or {}
    number = config.get("operator_number") or (to_e164(str(contact["phone"])) if contact.get("phone") else None)
    script = CallScript(office=contact.get("office") or config.tenant.display_name, operator_number=number,
                        operator_queue=config.get("operator_queue"), voice=config.get("voice"),
                        hours=str(contact.get("hours") or ""))
    return VoiceAdapter(config.tenant.id, sid, token,
                        public_base_url=config.get("public_base_url", settings.public_base_url),
                        sms_from=config.get("sms_from"), script=script, api_base_url=config.get("api_base_url"))


def build_email(config: ChannelConfig, settings: Settings) -> EmailAdapter:
    address, host = config.require("address", "smtp_host")
    smtp = SmtpSettings(host=host, port=int(config.get("smtp_port", 25)), username=config.get("smtp_username"),
                        password=config.get("smtp_password"), starttls=config.flag("smtp_starttls"))
    display = config.get("display_name") or (config.tenant.contact or {}).get("office") or config.tenant.display_name
    return EmailAdapter(config.tenant.id, address, smtp, display_name=display)


def build_slack(config: ChannelConfig, settings: Settings) -> SlackAdapter:
    secret, token, channel = config.require("signing_secret", "bot_token", "alert_channel")
    base_url = config.get("api_base_url", "https://slack.com/api/")
    return SlackAdapter(config.tenant.id, secret, token, channel, base_url=base_url)


BUILDERS: dict[str, Callable[[ChannelConfig, Settings], ChannelAdapter]] = {
    "line": build_line, "voice": build_voice, "email": build_email, "slack": build_slack}


def imap_settings(config: ChannelConfig) -> ImapSettings | None:
    """The mailbox to poll, when the email channel names an IMAP host and its password is in the environment."""
    host = config.get("imap_host")
    if not host:
        return None
    password = config.get("imap_password")
    if password is None:
        log.warning("%s/email: IMAP polling off (missing %s)", config.tenant.id, config.env_name("imap_password"))
        return None
    return ImapSettings(host=host, username=config.get("imap_username") or config.get("address"),
                        password=password, port=int(config.get("imap_port", 993)),
                        mailbox=config.get("imap_mailbox", "INBOX"), use_ssl=not config.flag("imap_plain"))


# -- the whole set ------------------------------------------------------------------------------------------------

def build_tenant_channels(tenant: Tenant, env: Mapping[str, str] | None = None,
                          settings: Settings | None = None) -> TenantChannels:
    env = os.environ if env is None else env
    settings = settings or get_settings()
    built = TenantChannels(tenant.id)
    for channel in CHANNELS:
        config = ChannelConfig(tenant, channel, env)
        status, adapter = _build_one(config, settings)
        built.statuses.append(status)
        if adapter is not None:
            built.adapters[channel] = adapter
            if channel == "email":
                built.imap = imap_settings(config)
    return built


def _build_one(config: ChannelConfig, settings: Settings) -> tuple[ChannelStatus, ChannelAdapter | None]:
    tenant, channel = config.tenant.id, config.channel
    if config.disabled:
        return ChannelStatus(tenant, channel, False, "disabled in config"), None
    try:
        adapter = BUILDERS[channel](config, settings)
    except MissingSettingsError as missing:
        return ChannelStatus(tenant, channel, False, f"missing {missing}"), None
    except ValueError as invalid:  # a malformed number or port: off, and say why
        return ChannelStatus(tenant, channel, False, f"invalid settings: {invalid}"), None
    return ChannelStatus(tenant, channel, True), adapter


def build_channels(tenants: Iterable[Tenant], env: Mapping[str, str] | None = None,
                   settings: Settings | None = None) -> dict[str, TenantChannels]:
    return {t.id: build_tenant_channels(t, env, settings) for t in tenants}


def log_channel_status(channels: Mapping[str, TenantChannels], logger: logging.Logger = log) -> list[str]:
    """Say at start-up which channels are on and which are off (and what would turn them on)."""
    lines = [s.describe() for built in channels.values() for s in built.statuses]
    for status, line in zip((s for b in channels.values() for s in b.statuses), lines, strict=True):
        logger.log(logging.INFO if status.on else logging.WARNING, "channel %s", line)
    return lines
