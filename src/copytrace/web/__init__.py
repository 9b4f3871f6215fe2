"""``copytrace serve``: a web page and JSON API over an index (FastAPI; the ``web`` extra)."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
