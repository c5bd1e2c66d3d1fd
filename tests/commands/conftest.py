"""The commands run on the seeded databases of the governance tests."""
from tests.governance.conftest import sqlite_db  # noqa: F401  (the same fixture)
