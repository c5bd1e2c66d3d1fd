from tests.storage.conftest import db, postgres_test_db, sqlite_template  # noqa: F401  (both back ends)
