"""The figures behind an insight, written the way they are shown, and the offline engine's prose about them:
a few plain rules with their thresholds (low delivery -> check the addresses; a lift that cannot be told ->
a bigger holdout; few clicks -> another message; a tiny or huge segment -> widen or narrow it)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from crm_core.analytics.lift import Lift

LOW_DELIVERY = 0.90  # delivered / sent below this: the list needs cleaning
LOW_CLICKS = 0.02  # clicked / delivered below this: the message did not land
GOOD_CLICKS = 0.10  # clicked / delivered at or above this: worth repeating
SMALL_SEGMENT = 0.01  # share of all customers below this: too narrow for a campaign of its own
LARGE_SEGMENT = 0.50  # share above this: hardly a segment
CENT, TENTH = Decimal("0.01"), Decimal("0.1")
LIFT_SHORT = {"no_holdout": "cannot tell: no holdout group", "too_small": "too small to tell",
              "no_clear_difference": "no clear difference", "higher": "recipients converted more",
              "lower": "recipients converted less"}


def money(amount: Decimal, currency: str) -> str:
    """An exact amount as shown: 1,234.50 USD."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f} {currency}".strip()


def share(part: int, whole: int) -> float | None:
    """part / whole, None when whole is 0."""
    return part / whole if whole else None


def of(part: int, whole: int, base: str) -> str:
    """'5 (83.3% of sent)', or just '5' when the base is 0."""
    rate = share(part, whole)
    return f"{part:,}" if rate is None else f"{part:,} ({rate:.1%} of {base})"


@dataclass(frozen=True)
class CampaignFacts:
    """A launched campaign's numbers from our queries."""

    channel: str
    targeted: int
    sent: int
    delivered: int
    opened: int | None  # None when the channel does not report opens
    clicked: int
    failed: int
    top_reason: tuple[str, int] | None
    converted: int
    orders: int
    revenue: Decimal
    currency: str
    window_days: int
    lift: Lift

    def figures(self) -> list[tuple[str, str]]:
        """The figures as the UI shows them (and the model reads them)."""
        rows = [("Channel", self.channel), ("Targeted", f"{self.targeted:,} messages"),
                ("Sent (accepted by the vendor)", of(self.sent, self.targeted, "targeted")),
                ("Delivered", of(self.delivered, self.sent, "sent"))]
        if self.opened is not None:
            rows.append(("Opened", of(self.opened, self.delivered, "delivered")))
        rows += [("Clicked", of(self.clicked, self.delivered, "delivered")),
                 ("Failed", of(self.failed, self.targeted, "targeted"))]
        if self.top_reason:
            rows.append(("Most common failure", f"{self.top_reason[0]} ({self.top_reason[1]:,} of "
                                                f"{self.failed:,} failures)"))
        rows += [(f"Converted within {self.window_days} days", of(self.converted, self.sent, "sent")),
                 ("Attributed orders", f"{self.orders:,}"),
                 ("Attributed revenue", money(self.revenue, self.currency)),
                 ("Lift over the holdout", _lift_text(self.lift))]
        return rows


def _lift_text(lift: Lift) -> str:
    text = LIFT_SHORT[lift.verdict]
    if lift.can_tell:
        text += (f": {lift.difference_pp:+.2f} percentage points (95% interval {lift.ci_low_pp:+.2f} to "
                 f"{lift.ci_high_pp:+.2f})")
    elif lift.holdout:
        text += (f" (recipients {lift.recipient_conversions:,} of {lift.recipients:,}, holdout "
                 f"{lift.holdout_conversions:,} of {lift.holdout:,})")
    return text


def _in_text(label: str) -> str:
    """A channel's label inside a sentence: 'e-mail', but 'SMS' and 'WhatsApp' as they are."""
    return label[0].lower() + label[1:] if label[1:].islower() else label


def campaign_prose(f: CampaignFacts) -> dict[str, str]:
    """The offline engine's three parts about a campaign, by the rules above."""
    if not f.sent:
        return {"what_happened": f"{f.targeted:,} {_in_text(f.channel)} messages were targeted, but the vendor has not "
                                 "accepted any of them yet.",
                "stands_out": (f"{f.failed:,} messages failed" + (f", most often: {f.top_reason[0]}."
                               if f.top_reason else ".")) if f.failed else "Nothing has been sent yet.",
                "try_next": "Check the campaign's status and its communication log; figures appear as messages "
                            "are sent."}
    delivery, clicks = share(f.delivered, f.sent) or 0.0, share(f.clicked, f.delivered)
    opened = f" {f.opened:,} were opened and" if f.opened is not None else ""
    happened = (f"{f.targeted:,} {_in_text(f.channel)} messages were targeted; the vendor accepted {f.sent:,} and "
                f"{f.delivered:,} were delivered ({delivery:.1%} of sent).{opened} {f.clicked:,} clicked. "
                f"Within {f.window_days} days of their message, {f.converted:,} recipients ordered: "
                f"{f.orders:,} orders worth {money(f.revenue, f.currency)}.")
    notes, tips = [], []
    if delivery < LOW_DELIVERY:
        reason = f" The most common failure was \"{f.top_reason[0]}\"." if f.top_reason else ""
        notes.append(f"Delivery was low: only {delivery:.1%} of sent messages arrived.{reason}")
        tips.append("Check the addresses before the next send: the communication log lists every failed message "
                    "and its reason.")
    if f.lift.verdict in ("higher", "lower"):
        notes.append(f"Recipients converted {'more' if f.lift.verdict == 'higher' else 'less'} than the holdout "
                     f"({f.lift.difference_pp:+.2f} percentage points).")
    if clicks is not None and clicks >= GOOD_CLICKS:
        notes.append(f"Clicks were strong: {clicks:.1%} of delivered messages were clicked.")
    elif clicks is not None and clicks < LOW_CLICKS:
        notes.append(f"Few people clicked: {clicks:.1%} of delivered messages.")
        tips.append("Try a clearer call to action or another tone; Message ideas in the campaign editor can "
                    "suggest variants.")
    if f.lift.verdict == "no_holdout":
        tips.append("Keep a holdout group next time (10% or more), so the campaign's effect can be measured.")
    elif f.lift.verdict in ("too_small", "no_clear_difference"):
        tips.append("Use a bigger holdout or a larger audience, so the lift can be told apart from chance.")
    elif f.lift.verdict == "higher":
        tips.append("Send a similar message to a similar segment, keeping a holdout to confirm the effect.")
    if not notes:
        notes.append(f"Delivery was healthy ({delivery:.1%} of sent messages arrived) and nothing unusual "
                     "stands out.")
    if not tips:
        tips.append("Try a variant of the message on part of the audience to learn what works better.")
    return {"what_happened": happened, "stands_out": " ".join(notes[:2]), "try_next": " ".join(tips[:2])}


@dataclass(frozen=True)
class SegmentFacts:
    """A segment's aggregates from our queries (never a customer's row)."""

    english: str
    size: int
    total: int
    buyers: int  # members with at least one order
    spend: Decimal  # total spend of the members
    orders: int
    all_spend: Decimal  # total spend of all customers
    countries: list[tuple[str, int]]  # top countries of the members, most first
    currency: str

    @property
    def average_spend(self) -> Decimal | None:
        """Average total spend per member (exact, to the cent)."""
        return (self.spend / self.size).quantize(CENT, rounding=ROUND_HALF_UP) if self.size else None

    @property
    def all_average_spend(self) -> Decimal | None:
        """Average total spend over all customers."""
        return (self.all_spend / self.total).quantize(CENT, rounding=ROUND_HALF_UP) if self.total else None

    def figures(self) -> list[tuple[str, str]]:
        """The figures as the UI shows them (and the model reads them)."""
        rows = [("Rule", self.english), ("Customers in the segment", f"{self.size:,}"),
                ("Share of all customers", f"{share(self.size, self.total) or 0:.1%} of {self.total:,}")]
        if self.size:
            rows += [("With at least one order", of(self.buyers, self.size, "the segment")),
                     ("Average spend", money(self.average_spend, self.currency)),
                     ("Average spend, all customers", money(self.all_average_spend or Decimal(0), self.currency)),
                     ("Average orders", f"{(Decimal(self.orders) / self.size).quantize(TENTH, ROUND_HALF_UP)}"),
                     ("Top countries", ", ".join(f"{c} {n:,} ({n / self.size:.1%})" for c, n in self.countries))]
        return rows


def segment_prose(f: SegmentFacts) -> dict[str, str]:
    """The offline engine's three parts about a segment, by the rules above."""
    if not f.size:
        return {"what_happened": f"No customer matches this rule: {f.english}.",
                "stands_out": "The segment is empty, so there is nothing to describe.",
                "try_next": "Loosen a condition (a lower threshold, a longer period) and check the count again."}
    part = share(f.size, f.total) or 0.0
    average, overall = f.average_spend or Decimal(0), f.all_average_spend or Decimal(0)
    happened = (f"{f.english}: {f.size:,} customers, {part:.1%} of all. {f.buyers:,} of them have ordered; on "
                f"average they spent {money(average, f.currency)}.")
    if f.countries and f.countries[0][1] / f.size >= 0.5:
        stands = f"Most of them are in one country: {f.countries[0][0]} ({f.countries[0][1] / f.size:.1%})."
    elif overall and average >= overall * 2:
        stands = f"They spend far more than the average customer ({money(overall, f.currency)})."
    elif overall and average * 2 <= overall:
        stands = f"They spend much less than the average customer ({money(overall, f.currency)})."
    else:
        stands = f"Their spend is close to the average customer's ({money(overall, f.currency)})."
    if f.buyers == 0:
        tip = "None of them has ordered yet: a welcome message with a first-order treat fits them."
    elif part < SMALL_SEGMENT:
        tip = "The segment is very small: widen a condition before building a campaign for it alone."
    elif part > LARGE_SEGMENT:
        tip = "The segment holds most customers: add a condition (spend, recency) for a sharper message."
    else:
        tip = "Send them a campaign with a holdout group, so you can see whether the message makes a difference."
    return {"what_happened": happened, "stands_out": stands, "try_next": tip}
