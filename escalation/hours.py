"""Office hours per tenant, from `contact.hours_spec` in the tenant YAML:

    contact:
      hours: 平日 9:00〜17:00                       # what residents read
      hours_spec: {weekdays: [0, 1, 2, 3, 4], open: "09:00", close: "17:00",
                   timezone: Asia/Tokyo, closed_dates: ["2026-12-29", "2027-01-01"]}

weekdays are Python's (Monday 0 … Sunday 6); timezone defaults to Asia/Tokyo; closed_dates lists holidays.
A tenant without hours_spec is treated as always open (nobody is promised a callback the office cannot keep).

    is_open(tenant, now) -> bool
    next_opening(tenant, now) -> datetime (aware, UTC)        # now itself when open
    sla_for(tenant, now) -> {first_response_minutes, resolution_minutes}   # deadlines counted from the next opening
    callback_meta(tenant, now) -> {"callback_requested": True, "callback_after": iso} | {}
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Tokyo"
SEARCH_DAYS = 31  # a month of closed days in a row would be a configuration mistake


@dataclass(frozen=True)
class OfficeHours:
    weekdays: frozenset[int]
    opens: time
    closes: time
    zone: ZoneInfo
    closed_dates: frozenset[date]

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "OfficeHours":
        return cls(weekdays=frozenset(int(d) for d in spec.get("weekdays", range(5))),
                   opens=_clock(spec.get("open", "09:00")), closes=_clock(spec.get("close", "17:00")),
                   zone=ZoneInfo(str(spec.get("timezone") or DEFAULT_TIMEZONE)),
                   closed_dates=frozenset(date.fromisoformat(str(d)) for d in spec.get("closed_dates") or ()))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.closed_dates

    def is_open(self, now: datetime) -> bool:
        local = _aware(now).astimezone(self.zone)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, now: datetime) -> datetime:
        now = _aware(now)
        if self.is_open(now):
            return now.astimezone(timezone.utc)
        local = now.astimezone(self.zone)
        for offset in range(SEARCH_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.opens, tzinfo=self.zone)
            if self.is_working_day(day) and opening > local:
                return opening.astimezone(timezone.utc)
        raise ValueError(f"no opening within {SEARCH_DAYS} days: check hours_spec")


def _clock(value: Any) -> time:
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the application's clock)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def office_hours(tenant: Any) -> OfficeHours | None:
    """The tenant's hours, or None when it declares none. Accepts a Tenant or its contact mapping."""
    contact = getattr(tenant, "contact", tenant) or {}
    spec = contact.get("hours_spec")
    return OfficeHours.from_spec(spec) if spec else None


def is_open(tenant: Any, now: datetime) -> bool:
    hours = office_hours(tenant)
    return True if hours is None else hours.is_open(now)


def next_opening(tenant: Any, now: datetime) -> datetime:
    hours = office_hours(tenant)
    return _aware(now).astimezone(timezone.utc) if hours is None else hours.next_opening(now)


def sla_for(tenant: Any, now: datetime) -> dict[str, float]:
    """The tenant's SLA with the clock starting at the next opening, so a hand-over at night is not 'late'
    (and does not trigger a holding message) before the office has even opened."""
    sla = dict(getattr(tenant, "get", lambda *_: None)("sla") or {})
    wait_minutes = (next_opening(tenant, now) - _aware(now)).total_seconds() / 60
    for key in ("first_response_minutes", "resolution_minutes"):
        if sla.get(key) is not None:
            sla[key] = float(sla[key]) + wait_minutes
    return sla


def callback_meta(tenant: Any, now: datetime) -> dict[str, Any]:
    """Escalation meta for a hand-over outside office hours: a callback request for the next opening."""
    if is_open(tenant, now):
        return {}
    return {"callback_requested": True, "callback_after": next_opening(tenant, now).isoformat()}


def format_local(tenant: Any, moment: datetime) -> str:
    """'11月27日(金) 9:00' in the tenant's time zone, for messages to residents and operators."""
    hours = office_hours(tenant)
    zone = hours.zone if hours else ZoneInfo(DEFAULT_TIMEZONE)
    local = _aware(moment).astimezone(zone)
    weekday = "月火水木金土日"[local.weekday()]
    return f"{local.month}月{local.day}日({weekday}) {local.hour}:{local.minute:02d}"
