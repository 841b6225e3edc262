"""Building blocks for server-side list views: a WHERE builder with bound values, sorting and paging."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

MAX_PAGE_SIZE = 500


@dataclass
class Where:
    """Conditions joined by AND, each with its values bound as parameters (never pasted into SQL)."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        """Add one condition with `?` placeholders and the values that bind them."""
        self.clauses.append(clause)
        self.params.extend(values)

    def add_range(self, column: str, low: Any, high: Any) -> None:
        """Add `column >= low` and/or `column <= high` for the bounds that are given."""
        if low is not None:
            self.add(f"{column} >= ?", low)
        if high is not None:
            self.add(f"{column} <= ?", high)

    def add_in(self, column: str, values: Any) -> None:
        """Add `column IN (values)` when values is non-empty."""
        values = [v for v in (values or []) if v is not None]
        if values:
            self.add(f"{column} IN (SELECT unnest(?::VARCHAR[]))", [str(v) for v in values])

    def sql(self) -> str:
        """The WHERE clause text (empty when there is no condition)."""
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


@dataclass(frozen=True)
class Page:
    """One page of a list view: its rows, the total that matched, and where it sits."""

    rows: pl.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the whole result spans (at least 1)."""
        return max(1, -(-self.total // self.page_size))


def page_bounds(page: int, page_size: int) -> tuple[int, int, int]:
    """Clamp page and size to sane values; return (page, size, offset)."""
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    return page, size, (page - 1) * size


def order_by(sorts: dict[str, str], sort: str, descending: bool, tiebreak: str) -> str:
    """An ORDER BY clause from a registry of sortable columns; unknown keys are refused."""
    if sort not in sorts:
        raise ValueError(f"cannot sort by '{sort}'; choose one of {', '.join(sorts)}")
    direction = "DESC" if descending else "ASC"
    return f"ORDER BY {sorts[sort]} {direction} NULLS LAST, {tiebreak} {direction}"


def optional_decimal(value: Any) -> Decimal | None:
    """A filter bound as Decimal (money compares exactly), or None when unset."""
    return None if value is None else Decimal(str(value))


def contains_term(term: str | None) -> str | None:
    """A search term trimmed and lower-cased for `contains(lower(col), ?)`, or None when blank."""
    text = (term or "").strip().lower()
    return text or None
