"""One channel's settings for one tenant: the tenant YAML's `channels:` section, overridden by the environment.

Non-secret settings live in the tenant YAML; secrets only in the environment, named
MADOGUCHI_<TENANT>_<CHANNEL>_<KEY> (e.g. MADOGUCHI_TOKYO_LINE_CHANNEL_SECRET). A channel whose required settings
are missing is off, and says which variables would turn it on.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from config.tenancy import Tenant

log = logging.getLogger(__name__)


def env_name(tenant_id: str, channel: str, key: str) -> str:
    """MADOGUCHI_<TENANT>_<CHANNEL>_<KEY>, upper case, anything but letters and digits as "_"."""
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part).upper() for part in ("MADOGUCHI", tenant_id, channel, key))


class MissingSettingsError(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class ChannelConfig:
    """Environment first, then YAML; `secret_keys` only from the environment (the YAML is committed)."""

    def __init__(self, tenant: Tenant, channel: str, env: Mapping[str, str],
                 secret_keys: Iterable[str] = ()) -> None:
        self.tenant, self.channel, self._env = tenant, channel, env
        self.secret_keys = frozenset(secret_keys)
        self._yaml = (tenant.raw.get("channels") or {}).get(channel) or {}
        for key in self.secret_keys & set(self._yaml):
            log.warning("%s/%s: ignoring %r in YAML; secrets come from %s", tenant.id, channel, key,
                        self.env_name(key))

    def env_name(self, key: str) -> str:
        return env_name(self.tenant.id, self.channel, key)

    @property
    def disabled(self) -> bool:
        return str(self._yaml.get("enabled", True)).lower() in ("false", "0", "no", "off")

    def get(self, key: str, default: Any = None) -> Any:
        value = self._env.get(self.env_name(key))
        if value not in (None, ""):
            return value
        if key in self.secret_keys:
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
