from tests.api.conftest import client, services, sqlite_template  # noqa: F401  (same app fixtures)
