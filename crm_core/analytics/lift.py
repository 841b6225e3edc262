"""Lift of a campaign: the recipients' conversion rate against the holdout's, the difference in percentage
points with its 95% confidence interval (Wald, for a difference of two proportions), the relative lift, and a
verdict in plain words.

The verdict rule, in order:
1. no holdout (nobody held out)                                          -> "no_holdout" (cannot tell)
2. either group has fewer than MIN_EVENTS conversions or non-conversions -> "too_small" (cannot tell): the
   normal approximation behind the interval needs about 5 of each in both groups;
3. the interval contains 0                                               -> "no_clear_difference";
4. otherwise                                                             -> "higher" or "lower".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.96  # the two-sided 95% quantile of the normal distribution, as the textbook rounds it
MIN_EVENTS = 5  # conversions and non-conversions each group needs before the interval means anything

VERDICTS = {
    "no_holdout": "Too small to tell: this campaign has no holdout group, so there is nothing to compare with.",
    "too_small": "Too small to tell: each group needs at least {min} conversions and {min} non-conversions "
                 "for a fair comparison.",
    "no_clear_difference": "No clear difference: the 95% interval of the difference includes zero.",
    "higher": "Recipients converted more than the holdout: the campaign most likely helped.",
    "lower": "Recipients converted less than the holdout: the campaign most likely hurt.",
}


@dataclass(frozen=True)
class Lift:
    """Recipients (1) against holdout (2): sizes, conversions, rates, difference and its 95% interval."""

    recipients: int
    recipient_conversions: int
    holdout: int
    holdout_conversions: int
    recipient_rate: float | None
    holdout_rate: float | None
    difference_pp: float | None  # percentage points, recipients minus holdout
    ci_low_pp: float | None
    ci_high_pp: float | None
    relative: float | None  # recipient_rate / holdout_rate - 1 (None when the holdout rate is 0)
    verdict: str  # a key of VERDICTS

    @property
    def can_tell(self) -> bool:
        """Whether the samples are large enough for the interval to say something."""
        return self.verdict not in ("no_holdout", "too_small")

    def sentence(self) -> str:
        """The verdict in plain words, with the numbers when there are any."""
        text = VERDICTS[self.verdict].format(min=MIN_EVENTS)
        if self.verdict == "too_small":
            text += (f" Here: recipients {self.recipient_conversions:,} of {self.recipients:,}, holdout "
                     f"{self.holdout_conversions:,} of {self.holdout:,}.")
        elif self.verdict != "no_holdout":
            text += (f" Recipients {_pct(self.recipient_rate)} vs holdout {_pct(self.holdout_rate)}: "
                     f"{self.difference_pp:+.2f} percentage points (95% CI {self.ci_low_pp:+.2f} to "
                     f"{self.ci_high_pp:+.2f})"
                     + (f", {self.relative:+.1%} relative." if self.relative is not None else "."))
        return text


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.2%}"


def wald_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(difference, low, high) of p1 - p2 as shares: diff +- z * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)."""
    p1, p2 = x1 / n1, x2 / n2
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return p1 - p2, p1 - p2 - half, p1 - p2 + half


def lift(recipients: int, recipient_conversions: int, holdout: int, holdout_conversions: int) -> Lift:
    """The lift of recipients over the holdout, with its interval and verdict (see the module's rule)."""
    n1, x1, n2, x2 = int(recipients), int(recipient_conversions), int(holdout), int(holdout_conversions)
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError("conversions must be between 0 and the group's size")
    p1 = x1 / n1 if n1 else None
    p2 = x2 / n2 if n2 else None
    if not n2 or not n1:
        return Lift(n1, x1, n2, x2, p1, p2, None, None, None, None, "no_holdout")
    diff, low, high = wald_interval(x1, n1, x2, n2)
    relative = p1 / p2 - 1 if p2 else None
    if min(x1, n1 - x1, x2, n2 - x2) < MIN_EVENTS:
        verdict = "too_small"
    elif low <= 0 <= high:
        verdict = "no_clear_difference"
    else:
        verdict = "higher" if diff > 0 else "lower"
    return Lift(n1, x1, n2, x2, p1, p2, diff * 100, low * 100, high * 100, relative, verdict)
