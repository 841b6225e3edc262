"""The shape of one schema migration (the steps themselves are in crm_core.schema)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: a version number, a short name and the statements it runs."""

    version: int
    name: str
    statements: tuple[str, ...]
