"""Office hours from the tenant YAML (contact.hours_spec), in the tenant's time zone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from config.settings import PROJECT_ROOT
from config.tenancy import Tenant, load_tenant_file
from escalation.hours import callback_meta, format_local, is_open, next_opening, sla_for

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def tokyo() -> Tenant:
    return load_tenant_file(PROJECT_ROOT / "config" / "tenants" / "tokyo.yaml")  # weekdays 9:00–17:00


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def tenant_with(spec, sla=None) -> Tenant:
    raw = {"sla": sla} if sla else {}
    return Tenant(id="t", display_name="T", sources=(), contact={"hours_spec": spec} if spec else {},
                  thresholds={}, raw=raw)


class TestIsOpen:
    @pytest.mark.parametrize(("moment", "expected"), [
        (jst(2026, 11, 26, 10, 0), True),     # Thursday morning
        (jst(2026, 11, 26, 9, 0), True),      # opening minute
        (jst(2026, 11, 26, 8, 59), False),
        (jst(2026, 11, 26, 17, 0), False),    # closing time is closed
        (jst(2026, 11, 28, 11, 0), False),    # Saturday
        (jst(2026, 11, 29, 11, 0), False),    # Sunday
    ])
    def test_weekday_office_hours_in_japan_time(self, tokyo, moment, expected):
        assert is_open(tokyo, moment) is expected

    def test_utc_and_naive_datetimes_are_read_as_utc(self, tokyo):
        assert is_open(tokyo, datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc))  # 10:00 JST
        assert is_open(tokyo, datetime(2026, 11, 26, 1, 0))
        assert not is_open(tokyo, datetime(2026, 11, 26, 23, 0))  # 08:00 JST Friday

    def test_closed_dates_are_holidays(self):
        tenant = tenant_with({"weekdays": [0, 1, 2, 3, 4], "open": "09:00", "close": "17:00",
                              "closed_dates": ["2026-12-31"]})
        assert not is_open(tenant, jst(2026, 12, 31, 10, 0))
        assert is_open(tenant, jst(2026, 12, 30, 10, 0))

    def test_a_tenant_without_hours_is_always_open(self):
        assert is_open(tenant_with(None), jst(2026, 11, 29, 3, 0))


class TestNextOpening:
    @pytest.mark.parametrize(("moment", "opening"), [
        (jst(2026, 11, 26, 10, 0), jst(2026, 11, 26, 10, 0)),  # open now: now
        (jst(2026, 11, 26, 7, 30), jst(2026, 11, 26, 9, 0)),   # early morning: today at nine
        (jst(2026, 11, 26, 18, 0), jst(2026, 11, 27, 9, 0)),   # evening: tomorrow
        (jst(2026, 11, 27, 17, 30), jst(2026, 11, 30, 9, 0)),  # Friday evening: Monday
        (jst(2026, 11, 28, 12, 0), jst(2026, 11, 30, 9, 0)),   # Saturday: Monday
    ])
    def test_next_opening(self, tokyo, moment, opening):
        result = next_opening(tokyo, moment)
        assert result == opening and result.tzinfo is not None

    def test_skips_closed_dates(self):
        tenant = tenant_with({"weekdays": [0, 1, 2, 3, 4], "open": "09:00", "close": "17:00",
                              "closed_dates": ["2026-11-27", "2026-11-30"]})
        assert next_opening(tenant, jst(2026, 11, 26, 18, 0)) == jst(2026, 12, 1, 9, 0)

    def test_format_for_residents(self, tokyo):
        assert format_local(tokyo, next_opening(tokyo, jst(2026, 11, 27, 18, 0))) == "11月30日(月) 9:00"


class TestCallbacks:
    def test_sla_counts_from_the_next_opening(self, tokyo):
        evening = jst(2026, 11, 26, 21, 0)  # 12 hours before Friday 9:00
        sla = sla_for(tokyo, evening)
        assert sla["first_response_minutes"] == pytest.approx(12 * 60 + 15)
        assert sla_for(tokyo, jst(2026, 11, 26, 10, 0))["first_response_minutes"] == 15

    def test_callback_meta_only_outside_office_hours(self, tokyo):
        assert callback_meta(tokyo, jst(2026, 11, 26, 10, 0)) == {}
        meta = callback_meta(tokyo, jst(2026, 11, 28, 10, 0))
        assert meta["callback_requested"] is True
        assert datetime.fromisoformat(meta["callback_after"]) == jst(2026, 11, 30, 9, 0)
        assert datetime.fromisoformat(meta["callback_after"]) - jst(2026, 11, 28, 10, 0) == timedelta(hours=47)
