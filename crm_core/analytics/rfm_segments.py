"""An RFM cell (or a whole named group) as a saved segment made of existing catalog fields.

A cell R=r F=f is two conditions on fields that segments compute as of the segment's as-of date:
"days since last order" in the R score's day range and "number of orders" in the F score's range.
The segment is saved with the RFM's as-of date, so its members, evaluated as of that date, are exactly
the cell's members. A group is a rectangle of cells, so it is the same two conditions over wider ranges.

One limit: the catalog's order figures count every order, those the campaign simulator made up
included. When the RFM leaves simulated orders out (the default) and some customer has one up to the
as-of date, those customers may land in a different cell than the segment puts them in; the RFM result
says how many customers have such orders (`simulated_customers`), and the outcome of a save reports the
segment's real size next to the cell's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_core.analytics.rfm import RfmResult, range_text
from crm_core.analytics.rfm_groups import RfmGroup, group_by_key, group_of
from crm_core.segments.saved import save_segment
from crm_core.store import Store
from crm_core.validation import ValidationError


@dataclass(frozen=True)
class RfmSelection:
    """A cell or a named group of the grid: its R and F score ranges and how many customers it holds."""

    recency: tuple[int, int]
    frequency: tuple[int, int]
    customers: int
    group: RfmGroup
    whole_group: bool  # True: the selection is the whole named group, not one cell

    @property
    def label(self) -> str:
        """'R=5 F=4 (Champions)' for a cell, 'Champions (R 5 · F 4–5)' for a group."""
        if self.whole_group:
            return f"{self.group.label} ({self.group.cells_text})"
        return f"R={self.recency[0]} F={self.frequency[0]} ({self.group.label})"


def select_cells(result: RfmResult, r: int | None = None, f: int | None = None,
                 group: str | None = None) -> RfmSelection:
    """The cell (r, f) or the named group `group` of a result; ValidationError for a bad choice."""
    try:
        if group is not None:
            chosen = group_by_key(group)
            recency, frequency, whole = chosen.recency, chosen.frequency, True
        else:
            chosen = group_of(int(r), int(f))  # type: ignore[arg-type]
            recency, frequency, whole = (int(r), int(r)), (int(f), int(f)), False  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationError({"cell": f"Choose a cell (R and F from 1 to 5) or a group: {exc}."}) from None
    grid = result.grid
    inside = grid.filter(grid["recency"].is_between(*recency) & grid["frequency"].is_between(*frequency))
    return RfmSelection(recency, frequency, int(inside["customers"].sum()), chosen, whole)


def _between(field: str, low: int, high: int | None) -> dict[str, Any]:
    if high is None:
        return {"field": field, "op": ">=", "value": low}
    if low == high:
        return {"field": field, "op": "=", "value": low}
    return {"field": field, "op": "between", "value": [low, high]}


def selection_rule(result: RfmResult, selection: RfmSelection) -> dict[str, Any]:
    """The canonical rule JSON selecting exactly the selection's customers as of the result's date."""
    if result.cutoffs is None:
        raise ValidationError({"cell": f"No customer has an order up to {result.as_of}: there is no RFM to save."})
    days = result.cutoffs.days(*selection.recency)
    orders = result.cutoffs.orders(*selection.frequency)
    if any(high is not None and low > high for low, high in (days, orders)):
        raise ValidationError({"cell": f"{selection.label} is an empty score range as of {result.as_of} "
                                       "(its quintile cutoffs coincide); pick another cell."})
    return {"match": "all", "negate": False,
            "rules": [_between("days_since_last_order", *days), _between("order_count", *orders)]}


def default_name(result: RfmResult, selection: RfmSelection) -> str:
    """'RFM Champions 2026-11-21' for a group, 'RFM R5 F4 Champions 2026-11-21' for a cell."""
    if selection.whole_group:
        return f"RFM {selection.group.label} {result.as_of.isoformat()}"
    return f"RFM R{selection.recency[0]} F{selection.frequency[0]} {selection.group.label} {result.as_of.isoformat()}"


def describe_selection(result: RfmResult, selection: RfmSelection) -> str:
    """The saved segment's description: where it came from and the value ranges it selects."""
    kind = "group" if selection.whole_group else "cell"
    text = (f"From the RFM {kind} {selection.label} as of {result.as_of.isoformat()}: "
            f"{range_text(*result.cutoffs.days(*selection.recency), 'days')} since the last order, "
            f"{range_text(*result.cutoffs.orders(*selection.frequency), 'orders')}.")
    if not result.include_simulated and result.simulated_customers:
        text += (" The RFM left simulated campaign orders out; this rule counts every order, so customers "
                 "with simulated orders may differ.")
    return text


@dataclass(frozen=True)
class SavedRfmSegment:
    """What a save did: the new segment, and its size next to the cell's."""

    segment_id: int
    name: str
    cell_customers: int
    segment_customers: int

    @property
    def exact(self) -> bool:
        """Whether the segment holds as many customers as the cell did."""
        return self.cell_customers == self.segment_customers


def save_rfm_segment(store: Store, result: RfmResult, name: str, r: int | None = None, f: int | None = None,
                     group: str | None = None, user: str | None = None) -> SavedRfmSegment:
    """Save a cell (r, f) or a named group of an RFM result as a segment fixed on the RFM's as-of date."""
    selection = select_cells(result, r, f, group)
    rule = selection_rule(result, selection)
    if not selection.customers:
        raise ValidationError({"cell": f"{selection.label} holds no customers as of {result.as_of}; "
                                       "pick another cell."})
    segment_id = save_segment(store, name, rule, describe_selection(result, selection), result.as_of, user)
    size = store.scalar("SELECT arg_max(customers, measured_at) FROM segment_sizes WHERE segment_id = ?",
                        [segment_id])
    return SavedRfmSegment(segment_id, name.strip(), selection.customers, int(size or 0))
