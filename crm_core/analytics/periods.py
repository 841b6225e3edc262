"""Date ranges for the overview: presets, the previous period to compare with, and the chart bucket."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# preset key -> label; one table drives the picker, the CLI-free core and the tests
PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 12 months",
    "ytd": "Year to date",
    "all": "All time",
    "custom": "Custom range",
}
_PRESET_DAYS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DAY_BUCKET_MAX_DAYS = 62  # up to two months: one bar a day
WEEK_BUCKET_MAX_DAYS = 366  # up to a year: one bar a week; longer: one a month


@dataclass(frozen=True)
class Period:
    """An inclusive range of whole UTC days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (naive UTC, like stored timestamps)."""
        return datetime.combine(self.start, time.min)

    @property
    def ends_before(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def label(self) -> str:
        """'2026-10-22 – 2026-11-20 (30 days)'."""
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d} ({self.days:,} day{'s' if self.days != 1 else ''})"


def bucket_for(period: Period) -> str:
    """The chart bucket that keeps a range readable: day up to ~2 months, week up to a year, then month."""
    if period.days <= DAY_BUCKET_MAX_DAYS:
        return "day"
    if period.days <= WEEK_BUCKET_MAX_DAYS:
        return "week"
    return "month"


def anchor_day(today: date, latest_order: datetime | date | None) -> date:
    """The day ranges end on: today, or the last order's day when the data stops long before today
    (a historical data set such as a 2017 export would otherwise show empty ranges)."""
    if latest_order is None:
        return today
    last = latest_order.date() if isinstance(latest_order, datetime) else latest_order
    return last if last < today - timedelta(days=30) else today


def preset_period(preset: str, end: date, first_order: datetime | date | None = None) -> Period:
    """The period a preset names, ending on `end` ('all' starts at the first order, or `end`)."""
    if preset in _PRESET_DAYS:
        return Period(end - timedelta(days=_PRESET_DAYS[preset] - 1), end)
    if preset == "ytd":
        return Period(end.replace(month=1, day=1), end)
    if preset == "all":
        first = first_order.date() if isinstance(first_order, datetime) else first_order
        return Period(min(first or end, end), end)
    raise ValueError(f"unknown range '{preset}'; choose one of {', '.join(PRESETS)}")
