"""Queue tests use the storage tests' fixtures: SQLite and PostgreSQL."""
from tests.storage.conftest import db, postgres_test_db, sqlite_template  # noqa: F401  (re-exported fixtures)
