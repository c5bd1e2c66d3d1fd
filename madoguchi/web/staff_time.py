"""Times on staff pages, in the tenant's timezone (`timezone:` in its YAML; Japan's by default)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Tokyo"
ZONE_LABELS = {"Asia/Tokyo": "日本時間"}


def tenant_zone(tenant: Any | None) -> ZoneInfo:
    name = tenant.get("timezone", DEFAULT_ZONE) if tenant is not None else DEFAULT_ZONE
    return ZoneInfo(str(name or DEFAULT_ZONE))


def zone_label(zone: ZoneInfo) -> str:
    return ZONE_LABELS.get(zone.key, zone.key)


def local_time(value: datetime | None, zone: ZoneInfo | None = None, fmt: str = "%m/%d %H:%M") -> str:
    """`value` (aware, UTC in the database) as the staff read it; empty for no value."""
    return value.astimezone(zone or ZoneInfo(DEFAULT_ZONE)).strftime(fmt) if value else ""
