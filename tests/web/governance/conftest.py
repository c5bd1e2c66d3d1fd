"""The governance pages run on SQLite and PostgreSQL, on the services of tests/governance (a seeded database)."""
from tests.governance.conftest import services, sqlite_db  # noqa: F401  (the same fixtures)
