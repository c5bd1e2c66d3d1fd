"""Where the pages' CSS and JS live (served under /static; no build step)."""
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
