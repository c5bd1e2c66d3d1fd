"""Office hours per tenant, from `contact.hours_spec` in the tenant YAML:

    contact:
      hours: 平日 9:00〜17:00                       # what residents read
      hours_spec: {weekdays: [0, 1, 2, 3, 4], open: "09:00", close: "17:00",
                   timezone: Asia/Tokyo, closed_dates: ["2026-12-29", "2027-01-01"]}

weekdays are Python's (Monday 0 … Sunday 6); timezone defaults to Asia/Tokyo; closed_dates lists holidays.
A tenant without hours_spec is treated as always open (nobody is promised a callback the office cannot keep).

    is_open(tenant, now) -> bool
    next_opening(tenant, now) -> datetime (aware, UTC)        # now itself when open
    sla_for(tenant, now, risk=…, reason=…) -> {tier, first_response_minutes, resolution_minutes}
        # per tier (sla.first_response_minutes: {emergency: 2, crisis: 2, high: 10, routine: 15}); routine and high
        # deadlines are counted from the next opening, emergencies and crises from now
    callback_meta(tenant, now) -> {"callback_requested": True, "callback_after": iso} | {}
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from config.tenancy import ROUND_THE_CLOCK_TIERS, sla_minutes

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


HIGH_REASONS = frozenset({"risk", "complaint"})


def sla_tier(risk: str | None, reason: Any = None) -> str:
    """emergency | crisis (their own deadlines), high (any other risk tier, or a risk/complaint hand-over),
    routine (everything else)."""
    if risk in ROUND_THE_CLOCK_TIERS:
        return str(risk)
    if risk or getattr(reason, "value", reason) in HIGH_REASONS:
        return "high"
    return "routine"


def sla_for(tenant: Any, now: datetime, *, risk: str | None = None, reason: Any = None) -> dict[str, Any]:
    """The tenant's deadlines (minutes) for a hand-over of this risk tier. Routine and high tiers start at the next
    opening, so a hand-over at night is not 'late' before the office has even opened; emergencies and crises
    start now."""
    tier = sla_tier(risk, reason)
    configured = dict(getattr(tenant, "get", lambda *_: None)("sla") or {})
    wait_minutes = 0.0
    if tier not in ROUND_THE_CLOCK_TIERS:
        wait_minutes = (next_opening(tenant, now) - _aware(now)).total_seconds() / 60
    sla: dict[str, Any] = {"tier": tier}
    for key in ("first_response_minutes", "resolution_minutes"):
        minutes = sla_minutes(configured, key, tier)
        if minutes is not None:
            sla[key] = minutes + wait_minutes
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
