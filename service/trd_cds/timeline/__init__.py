"""The trial timeline page: its launch handles and its static assets (no build step)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["STATIC_DIR"]
