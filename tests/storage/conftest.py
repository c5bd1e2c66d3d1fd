"""Storage tests use the `db` fixture of tests/conftest.py: every test runs on SQLite and on PostgreSQL."""
