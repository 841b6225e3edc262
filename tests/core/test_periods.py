"""Date ranges: presets, the previous period, the bucket chosen from the length, and the bucket list."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from crm_core.analytics.overview import bucket_starts
from crm_core.analytics.periods import Period, anchor_day, bucket_for, preset_period

END = date(2026, 11, 21)


@pytest.mark.parametrize("preset, start", [("7d", date(2026, 11, 15)), ("30d", date(2026, 10, 23)),
                                           ("90d", date(2026, 8, 24)), ("365d", date(2025, 11, 22)),
                                           ("ytd", date(2026, 1, 1))])
def test_presets_end_on_the_day_given(preset, start):
    assert preset_period(preset, END) == Period(start, END)


def test_all_time_starts_at_the_first_order_or_the_end():
    assert preset_period("all", END, datetime(2024, 2, 3, 4, 5)) == Period(date(2024, 2, 3), END)
    assert preset_period("all", END, None) == Period(END, END)


def test_unknown_preset_and_reversed_range_are_refused():
    with pytest.raises(ValueError, match="unknown range"):
        preset_period("2w", END)
    with pytest.raises(ValueError, match="before the start"):
        Period(date(2026, 2, 2), date(2026, 2, 1))


@pytest.mark.parametrize("start, end, previous", [
    (date(2026, 3, 1), date(2026, 3, 31), Period(date(2026, 1, 29), date(2026, 2, 28))),  # 31 days back
    (date(2026, 11, 21), date(2026, 11, 21), Period(date(2026, 11, 20), date(2026, 11, 20))),
    (date(2024, 3, 1), date(2024, 3, 7), Period(date(2024, 2, 23), date(2024, 2, 29))),  # leap day
])
def test_previous_period_has_the_same_length_and_ends_the_day_before(start, end, previous):
    period = Period(start, end)
    assert period.previous() == previous and previous.days == period.days


@pytest.mark.parametrize("days, bucket", [(1, "day"), (62, "day"), (63, "week"), (366, "week"), (367, "month"),
                                          (3000, "month")])
def test_bucket_follows_the_length(days, bucket):
    start = date(2020, 1, 1)
    assert bucket_for(Period(start, date.fromordinal(start.toordinal() + days - 1))) == bucket


def test_bucket_starts():
    period = Period(date(2026, 1, 30), date(2026, 3, 2))  # Friday .. Monday
    assert bucket_starts(period, "month") == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert bucket_starts(period, "week")[:2] == [date(2026, 1, 26), date(2026, 2, 2)]
    assert bucket_starts(period, "week")[-1] == date(2026, 3, 2) and len(bucket_starts(period, "day")) == 32


@pytest.mark.parametrize("last, expected", [(None, END), (datetime(2026, 11, 1), END),
                                            (datetime(2026, 10, 22, 8), END), (datetime(2026, 10, 21, 8), date(2026, 10, 21)),
                                            (datetime(2017, 12, 31, 19), date(2017, 12, 31))])
def test_anchor_is_today_unless_the_data_stopped_over_30_days_ago(last, expected):
    assert anchor_day(END, last) == expected
