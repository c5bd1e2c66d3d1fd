"""Settings read from the environment on every request, built once per distinct value of their variables."""
from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings import Settings, from_environment


class Limits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_TEST_LIMIT_", extra="ignore")

    per_minute: int = 15


def test_the_same_environment_gives_the_same_settings_without_building_them_again(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_TEST_LIMIT_PER_MINUTE", raising=False)
    first = from_environment(Limits)
    assert first.per_minute == 15 and from_environment(Limits) is first


def test_a_changed_variable_is_read_at_once(monkeypatch):
    monkeypatch.setenv("MADOGUCHI_TEST_LIMIT_PER_MINUTE", "3")
    assert from_environment(Limits).per_minute == 3
    monkeypatch.setenv("MADOGUCHI_TEST_LIMIT_PER_MINUTE", "4")
    assert from_environment(Limits).per_minute == 4
    monkeypatch.delenv("MADOGUCHI_TEST_LIMIT_PER_MINUTE")
    assert from_environment(Limits).per_minute == 15


def test_settings_that_read_a_dotenv_file_are_built_as_usual():
    with pytest.raises(ValueError, match="env file"):
        from_environment(Settings)
