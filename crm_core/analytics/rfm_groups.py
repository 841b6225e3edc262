"""The named RFM groups: one table maps every (R score, F score) cell of the 5x5 grid to a group.

Each group is a rectangle of the grid (a range of R scores by a range of F scores), so a group, like a
single cell, becomes a segment rule of two conditions. The 25 cells are covered exactly once (a test
checks it). The layout follows the widely used R x F map, with its lowest corner split into
Hibernating (R 2) and Lost (R 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RfmGroup:
    """One named group: the R and F score ranges it covers, what it means and what a marketer can do."""

    key: str
    label: str
    recency: tuple[int, int]  # R scores, inclusive (5 = bought most recently)
    frequency: tuple[int, int]  # F scores, inclusive (5 = ordered most often)
    description: str
    action: str

    def holds(self, r: int, f: int) -> bool:
        """Whether the cell (R, F) belongs to this group."""
        return self.recency[0] <= r <= self.recency[1] and self.frequency[0] <= f <= self.frequency[1]

    @property
    def cells_text(self) -> str:
        """The group's cells in words: 'R 5 · F 4–5'."""
        return f"R {_span(self.recency)} · F {_span(self.frequency)}"


def _span(scores: tuple[int, int]) -> str:
    return str(scores[0]) if scores[0] == scores[1] else f"{scores[0]}–{scores[1]}"


GROUPS: tuple[RfmGroup, ...] = (
    RfmGroup("champions", "Champions", (5, 5), (4, 5),
             "Bought very recently and order most often.",
             "Reward them: early access, loyalty perks; ask for reviews and referrals."),
    RfmGroup("loyal", "Loyal customers", (3, 4), (4, 5),
             "Order often and not long ago.",
             "Upsell higher-value products; invite them to the loyalty programme."),
    RfmGroup("potential_loyalists", "Potential loyalists", (4, 5), (2, 3),
             "Recent customers with a few orders.",
             "Offer a membership or loyalty programme; recommend related products."),
    RfmGroup("new_customers", "New customers", (5, 5), (1, 1),
             "Their first and only order is very recent.",
             "Welcome series and onboarding; make the second order easy."),
    RfmGroup("promising", "Promising", (4, 4), (1, 1),
             "Bought once, fairly recently.",
             "Build the habit: free shipping or a small discount on a second order."),
    RfmGroup("need_attention", "Need attention", (3, 3), (3, 3),
             "Middling recency and frequency.",
             "Limited-time offers and recommendations based on what they bought."),
    RfmGroup("about_to_sleep", "About to sleep", (3, 3), (1, 2),
             "Few orders, the last one a while ago.",
             "Share popular products and a discount before they lapse."),
    RfmGroup("at_risk", "At risk", (1, 2), (3, 4),
             "Ordered regularly, but not for a long time.",
             "Personal win-back messages, renewal offers, useful content."),
    RfmGroup("cant_lose", "Can't lose them", (1, 2), (5, 5),
             "Used to order most often, quiet for a long time.",
             "Win them back with a personal offer or a call; ask what went wrong."),
    RfmGroup("hibernating", "Hibernating", (2, 2), (1, 2),
             "Few orders, long ago.",
             "Offer other relevant products and special discounts to rekindle interest."),
    RfmGroup("lost", "Lost", (1, 1), (1, 2),
             "The oldest last orders, and few of them.",
             "One low-cost revival campaign; otherwise leave them out of paid campaigns."),
)
_BY_KEY = {g.key: g for g in GROUPS}


def group_of(r: int, f: int) -> RfmGroup:
    """The group that holds the cell (R, F); ValueError for scores outside 1..5."""
    for group in GROUPS:
        if group.holds(r, f):
            return group
    raise ValueError(f"no RFM cell R={r} F={f}: scores run from 1 to 5")


def group_by_key(key: str) -> RfmGroup:
    """The group with this key; ValueError when there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"there is no RFM group '{key}'") from None


def cell_groups() -> pl.DataFrame:
    """Every cell of the grid with its group (columns: recency, frequency, group_key, group)."""
    rows = [(r, f, group_of(r, f).key, group_of(r, f).label) for r in SCORES for f in SCORES]
    return pl.DataFrame(rows, schema={"recency": pl.Int8, "frequency": pl.Int8, "group_key": pl.String,
                                      "group": pl.String}, orient="row")


def groups_table() -> pl.DataFrame:
    """The registry as a table (columns: group_key, group, cells, description, action), in registry order."""
    return pl.DataFrame([(g.key, g.label, g.cells_text, g.description, g.action) for g in GROUPS],
                        schema={"group_key": pl.String, "group": pl.String, "cells": pl.String,
                                "description": pl.String, "action": pl.String}, orient="row")
