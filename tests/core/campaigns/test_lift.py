"""Lift: the difference of two proportions and its 95% Wald interval against the textbook formula computed here,
the relative lift, and each verdict rule (no holdout, fewer than 5 conversions or non-conversions, interval
spanning zero, higher, lower)."""
from __future__ import annotations

import math

import pytest

from crm_core.analytics.lift import MIN_EVENTS, lift, wald_interval


def textbook(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """Difference and 95% interval in percentage points, written out from the textbook."""
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return 100 * d, 100 * (d - 1.96 * se), 100 * (d + 1.96 * se)


@pytest.mark.parametrize("x1, n1, x2, n2", [(400, 10_000, 300, 10_000), (50, 1_000, 48, 1_000),
                                            (120, 900, 5, 100), (30, 5_000, 45, 4_000), (7, 12, 6, 10)])
def test_difference_and_interval_match_the_textbook(x1, n1, x2, n2):
    result = lift(n1, x1, n2, x2)
    d, low, high = textbook(x1, n1, x2, n2)
    assert result.difference_pp == pytest.approx(d, abs=1e-12)
    assert result.ci_low_pp == pytest.approx(low, abs=1e-9)
    assert result.ci_high_pp == pytest.approx(high, abs=1e-9)
    assert result.recipient_rate == x1 / n1 and result.holdout_rate == x2 / n2
    assert result.relative == pytest.approx((x1 / n1) / (x2 / n2) - 1)


def test_the_interval_is_symmetric_around_the_difference():
    d, low, high = wald_interval(400, 10_000, 300, 10_000)
    assert d == pytest.approx(0.01) and (high - d) == pytest.approx(d - low)
    se = math.sqrt(0.04 * 0.96 / 10_000 + 0.03 * 0.97 / 10_000)
    assert high - d == pytest.approx(1.96 * se)


def test_verdict_higher_with_the_numbers():
    result = lift(10_000, 400, 10_000, 300)
    assert result.verdict == "higher" and result.can_tell
    text = result.sentence()
    assert text.startswith("Recipients converted more than the holdout")
    assert "4.00% vs holdout 3.00%" in text and "+1.00 percentage points" in text and "+33.3% relative" in text


def test_verdict_lower():
    result = lift(4_000, 30, 4_000, 80)
    assert result.verdict == "lower" and result.ci_high_pp < 0
    assert "most likely hurt" in result.sentence()


def test_no_clear_difference_when_the_interval_spans_zero():
    result = lift(1_000, 50, 1_000, 48)
    assert result.ci_low_pp < 0 < result.ci_high_pp
    assert result.verdict == "no_clear_difference" and result.can_tell
    assert result.sentence().startswith("No clear difference")


@pytest.mark.parametrize("n1, x1, n2, x2", [
    (1_000, 4, 1_000, 40),  # 4 conversions among recipients
    (1_000, 40, 1_000, 4),  # 4 in the holdout
    (100, 96, 100, 50),  # 4 non-conversions among recipients
    (100, 50, 8, 4),  # 4 non-conversions in the holdout
])
def test_too_small_below_five_of_either_outcome(n1, x1, n2, x2):
    result = lift(n1, x1, n2, x2)
    assert result.verdict == "too_small" and not result.can_tell
    assert result.difference_pp is not None  # the numbers are still there to show
    assert f"at least {MIN_EVENTS} conversions" in result.sentence()


def test_exactly_five_is_enough():
    assert lift(1_000, 5, 1_000, 400).verdict == "lower"


def test_no_holdout():
    result = lift(1_000, 40, 0, 0)
    assert result.verdict == "no_holdout" and result.holdout_rate is None and result.difference_pp is None
    assert "no holdout group" in result.sentence()


def test_a_zero_holdout_rate_has_no_relative_lift():
    assert lift(1_000, 40, 1_000, 0).relative is None


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError):
        lift(10, 11, 10, 1)
