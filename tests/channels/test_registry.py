"""Building each tenant's adapters from tenant YAML + environment; channels without credentials are off."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from core.messages import OutboundMessage
from channels.email import EmailAdapter
from channels.line import LineAdapter
from channels.registry import build_channels, build_tenant_channels, log_channel_status
from channels.slack import SlackAdapter
from channels.voice import VoiceAdapter
from config.settings import Settings
from config.tenancy import load_tenant_file
from tests.channels.fakes import FakeLineApi

TENANT_YAML = """
id: minato
display_name: 港区
contact:
  office: 港区 区民相談窓口
  phone: 03-3578-2111
  hours: 平日 8:30〜17:15
channels:
  line: {}
  voice:
    sms_from: "+815012345678"
    voice: Polly.Mizuki
  email:
    address: Soudan@city.minato.example.jp
    smtp_host: smtp.example.jp
    smtp_port: 587
    smtp_starttls: true
    imap_host: imap.example.jp
  slack:
    alert_channel: C0ALERTS
    bot_token: xoxb-committed-by-mistake
"""

FULL_ENV = {
    "MADOGUCHI_MINATO_LINE_CHANNEL_SECRET": "s", "MADOGUCHI_MINATO_LINE_CHANNEL_ACCESS_TOKEN": "t",
    "MADOGUCHI_MINATO_VOICE_ACCOUNT_SID": "AC1", "MADOGUCHI_MINATO_VOICE_AUTH_TOKEN": "a",
    "MADOGUCHI_MINATO_EMAIL_IMAP_PASSWORD": "p",
    "MADOGUCHI_MINATO_SLACK_SIGNING_SECRET": "ss", "MADOGUCHI_MINATO_SLACK_BOT_TOKEN": "xoxb-env",
}
SETTINGS = Settings(public_base_url="https://madoguchi.example.jp")


@pytest.fixture
def tenant(tmp_path: Path):
    path = tmp_path / "minato.yaml"
    path.write_text(TENANT_YAML, encoding="utf-8")
    return load_tenant_file(path)


def test_all_channels_on_with_credentials(tenant):
    built = build_tenant_channels(tenant, FULL_ENV, SETTINGS)
    assert built.off == {}
    assert isinstance(built.get("line"), LineAdapter) and isinstance(built.get("slack"), SlackAdapter)
    voice = built.get("voice")
    assert isinstance(voice, VoiceAdapter)
    assert voice.public_base_url == "https://madoguchi.example.jp"
    assert voice.script.operator_number == "+81335782111"  # from contact.phone
    assert (voice.script.office, voice.script.voice, voice.sms_from) == ("港区 区民相談窓口", "Polly.Mizuki",
                                                                         "+815012345678")
    email = built.get("email")
    assert isinstance(email, EmailAdapter)
    assert (email.address, email.smtp.port, email.smtp.starttls) == ("soudan@city.minato.example.jp", 587, True)
    assert built.imap is not None and (built.imap.host, built.imap.username) == ("imap.example.jp",
                                                                               "Soudan@city.minato.example.jp")


def test_without_credentials_channels_are_off_and_say_what_is_missing(tenant):
    built = build_tenant_channels(tenant, {}, SETTINGS)
    assert set(built.adapters) == {"email"}  # email needs no secret when the SMTP relay takes us unauthenticated
    assert "MADOGUCHI_MINATO_LINE_CHANNEL_SECRET" in built.off["line"]
    assert "MADOGUCHI_MINATO_VOICE_AUTH_TOKEN" in built.off["voice"]
    assert built.imap is None  # the IMAP password is missing: polling off, SMTP in still works


def test_secrets_in_yaml_are_ignored(tenant, caplog):
    env = {k: v for k, v in FULL_ENV.items() if k != "MADOGUCHI_MINATO_SLACK_BOT_TOKEN"}
    with caplog.at_level(logging.WARNING):
        built = build_tenant_channels(tenant, env, SETTINGS)
    assert "MADOGUCHI_MINATO_SLACK_BOT_TOKEN" in built.off["slack"]
    assert "ignoring 'bot_token' in YAML" in caplog.text


def test_environment_overrides_yaml_and_enabled_false_turns_off(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nchannels:\n  line: {enabled: false}\n  email: {address: a@x.jp, smtp_host: h}\n",
                    encoding="utf-8")
    built = build_tenant_channels(load_tenant_file(path), {
        "MADOGUCHI_T_LINE_CHANNEL_SECRET": "s", "MADOGUCHI_T_LINE_CHANNEL_ACCESS_TOKEN": "t",
        "MADOGUCHI_T_EMAIL_SMTP_HOST": "relay.internal"}, SETTINGS)
    assert built.off["line"] == "disabled in config"
    assert built.get("email").smtp.host == "relay.internal"


def test_invalid_settings_turn_a_channel_off_with_the_reason(tenant):
    env = {**FULL_ENV, "MADOGUCHI_MINATO_EMAIL_SMTP_PORT": "not-a-port"}
    assert "invalid settings" in build_tenant_channels(tenant, env, SETTINGS).off["email"]


def test_tenant_without_a_channels_section_has_everything_off(tmp_path):
    path = tmp_path / "bare.yaml"
    path.write_text("id: bare\n", encoding="utf-8")
    assert set(build_tenant_channels(load_tenant_file(path), {}, SETTINGS).off) == {"line", "voice", "email",
                                                                                     "slack"}


def test_start_up_report_lists_every_channel(tenant, caplog):
    channels = build_channels([tenant], {"MADOGUCHI_MINATO_LINE_CHANNEL_SECRET": "s",
                                         "MADOGUCHI_MINATO_LINE_CHANNEL_ACCESS_TOKEN": "t"}, SETTINGS)
    with caplog.at_level(logging.INFO, logger="channels.registry"):
        lines = log_channel_status(channels)
    assert "minato/line: on" in lines
    assert any(line.startswith("minato/voice: off (missing MADOGUCHI_MINATO_VOICE_ACCOUNT_SID") for line in lines)
    assert len(lines) == 4 and caplog.text.count("channel minato/") == 4


def test_adapter_built_from_config_talks_to_the_configured_api(tenant):
    with FakeLineApi("t") as line_api:
        env = {**FULL_ENV, "MADOGUCHI_MINATO_LINE_API_HOST": line_api.url}
        adapter = build_tenant_channels(tenant, env, SETTINGS).get("line")
        adapter.send(OutboundMessage(channel="line", tenant="minato", recipient="U1", text="こんにちは",
                                     idempotency_key="k", meta={"received_at": time.time()}))
        assert line_api.delivered[0]["messages"][0]["text"] == "こんにちは"


def test_the_shipped_tenants_build_without_error():
    from config.tenancy import load_tenants
    channels = build_channels(load_tenants().values(), {}, SETTINGS)
    assert channels and all(len(b.statuses) == 4 for b in channels.values())
