"""Queue tests run on SQLite and PostgreSQL through the `db` fixture of tests/conftest.py."""
