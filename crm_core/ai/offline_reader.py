"""The offline parser's cursor over tokens: phrase matching, amounts, counts, periods and dates (the
small pieces every clause of docs/ai-offline-grammar.md is built from)."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import Sequence

from crm_core.ai.offline_lexicon import (COMPARATORS, CONNECTORS, MONTHS, NUMBER_WORDS, POSTFIX,
                                         TIMES_WORDS, UNITS, Token)
from crm_core.segments.operators import MAX_DAYS

Phrase = tuple[str, ...]
_PERIOD_PREPS = (("in",), ("within",), ("over",), ("during",), ("for",))
_LAST = (("the", "last"), ("the", "past"), ("last",), ("past",))


class Refusal(Exception):
    """The sentence cannot be read safely; the message says which words and why."""


class Reader:
    """A position in a token list with backtracking helpers."""

    def __init__(self, tokens: Sequence[Token], today: date):
        self.tokens = list(tokens)
        self.i = 0
        self.today = today

    # -- basics ------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token | None:
        """The token `ahead` places on, or None past the end."""
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str | None:
        """The folded word `ahead` places on (commas count as ','), or None."""
        tok = self.peek(ahead)
        return tok.norm if tok is not None and tok.kind in ("word", "comma") else None

    @property
    def done(self) -> bool:
        """Whether every token has been read."""
        return self.i >= len(self.tokens)

    def at(self, phrase: Phrase) -> bool:
        """Whether the next words are exactly `phrase`."""
        return all(self.word(k) == w for k, w in enumerate(phrase))

    def take(self, *phrases: Phrase) -> Phrase | None:
        """Consume the longest of `phrases` that comes next; the phrase, or None."""
        for phrase in sorted(phrases, key=len, reverse=True):
            if self.at(phrase):
                self.i += len(phrase)
                return phrase
        return None

    def at_boundary(self) -> bool:
        """Whether the sentence ends here or a connector ('and', 'who', ',' ...) comes next."""
        return self.done or self.word() in CONNECTORS

    def shown(self, start: int, end: int | None = None) -> str:
        """The words from token `start` to `end` as typed."""
        return " ".join(t.raw for t in self.tokens[start:end])

    def extent(self, start: int, stops: frozenset | set = CONNECTORS) -> int:
        """Where the words from `start` stop: at a comma or one of `stops` (connectors by default)."""
        end = start + 1
        while end < len(self.tokens) and self.tokens[end].kind != "comma" and self.tokens[end].norm not in stops:
            end += 1
        return end

    # -- numbers -----------------------------------------------------------------------------------
    def amount(self) -> Decimal | None:
        """A money amount ('$1.5k', 'R$ 500', '500 reais', '1,250.50')."""
        tok = self.peek()
        if tok is None or tok.kind != "number":
            return None
        self.i += 1
        return tok.number

    def count(self) -> int | None:
        """A whole count: '3', 'three', 'a single', 'once' (no currency)."""
        tok = self.peek()
        if tok is not None and tok.kind == "number":
            if tok.money or tok.number != tok.number.to_integral_value():
                return None
            self.i += 1
            return int(tok.number)
        if self.take(("a", "single"), ("single",)):
            return 1
        if tok is not None and tok.norm in NUMBER_WORDS:
            self.i += 1
            return NUMBER_WORDS[tok.norm]
        return None

    def compare(self, money: bool, exact: bool) -> tuple[str, object] | None:
        """A comparison: 'more than X', 'at least X', 'between X and Y', 'X or more', 'X+'; for counts
        (`exact`) a bare number or 'once'/'twice' means '='. Returns (operator, value)."""
        start = self.i
        read = self.amount if money else self.count
        if self.take(("between",)) or self.take(("from",)):
            low = read()
            if low is not None and self.take(("and",), ("to",)):
                high = read()
                if high is not None:
                    return "between", sorted([low, high])
            self.i = start
            return None
        phrase = self.take(*COMPARATORS)
        op = COMPARATORS[phrase] if phrase else None
        if not money and self.word() in TIMES_WORDS:
            value = TIMES_WORDS[self.word()]
            self.i += 1
            return (op or "="), value
        tok = self.peek()
        value = read()
        if value is None:
            self.i = start
            return None
        if op is None and tok.plus:
            op = ">="
        if op is None:
            post = self.take(*POSTFIX)
            op = POSTFIX[post] if post else ("=" if exact else None)
        if op is None or (op == "=" and not exact):
            self.i = start
            return None
        return op, value

    # -- time --------------------------------------------------------------------------------------
    def _days(self, number: int, unit: str, start: int) -> int:
        days = number * UNITS[unit]
        if not 1 <= days <= MAX_DAYS:
            raise Refusal(f"'{self.shown(start, self.i)}' is outside what a rule can count back "
                          f"(1 to {MAX_DAYS:,} days).")
        return days

    def period(self, need_prep: bool = False) -> int | None:
        """'in the last 3 months', 'within 30 days', 'for 2 weeks', 'in the past year' -> days. A bare 'last
        month' is refused here: it may mean the calendar month."""
        start = self.i
        prep = self.take(*_PERIOD_PREPS)
        last = self.take(*_LAST)
        if (need_prep and not prep) or (not prep and not last):
            self.i = start
            return None
        number = self.count()
        unit = self.word()
        if unit not in UNITS or (number is None and (not last or not prep and len(last) == 1)):
            self.i = start
            return None
        self.i += 1
        return self._days(1 if number is None else number, unit, start)

    def ago(self) -> tuple[str, int] | None:
        """'more than 30 days ago' -> ('more_than_days_ago', 30); 'less than 2 weeks ago' -> in_last_days."""
        start = self.i
        phrase = self.take(("more", "than"), ("over",), ("at", "least"), ("less", "than"), ("under",),
                           ("within",))
        number = self.count()
        unit = self.word()
        if phrase is None or number is None or unit not in UNITS:
            self.i = start
            return None
        self.i += 1
        if not self.take(("ago",)):
            self.i = start
            return None
        days = self._days(number, unit, start)
        return ("more_than_days_ago", days) if phrase[0] in ("more", "over", "at") else ("in_last_days", days)

    def year(self) -> int | None:
        """A four-digit year from 1900 to 2200."""
        tok = self.peek()
        if tok is None or tok.kind != "number" or tok.money or tok.plus or not tok.raw.isdigit() or len(tok.raw) != 4:
            return None
        if not 1900 <= int(tok.raw) <= 2200:
            return None
        self.i += 1
        return int(tok.raw)

    def days_range(self) -> tuple[date, date] | None:
        """A date or span: '2024-01-01', 'March 2024', 'March 5, 2024', '5 March 2024', '2024' -> (first, last)."""
        tok, start = self.peek(), self.i
        if tok is None:
            return None
        if tok.kind == "date":
            self.i += 1
            try:
                day = date.fromisoformat(tok.raw)
            except ValueError:
                raise Refusal(f"'{tok.raw}' is not a date.") from None
            return day, day
        day = None
        if tok.kind == "number" and tok.raw.isdigit() and len(tok.raw) <= 2 and self.word(1) in MONTHS:
            day, self.i = int(tok.raw), self.i + 1
        month = MONTHS.get(self.word() or "")
        if month is not None:
            self.i += 1
            nxt = self.peek()
            if day is None and nxt is not None and nxt.kind == "number" and nxt.raw.isdigit() and len(nxt.raw) <= 2:
                day, self.i = int(nxt.raw), self.i + 1
                self.take((",",))
            year = self.year()
            if year is None:
                raise Refusal(f"Say which year '{self.shown(start, self.i)}' is in, e.g. 'March 2024'.")
            last = calendar.monthrange(year, month)[1]
            if day is not None:
                if not 1 <= day <= last:
                    raise Refusal(f"'{self.shown(start, self.i)}' is not a date.")
                return date(year, month, day), date(year, month, day)
            return date(year, month, 1), date(year, month, last)
        self.i = start
        year = self.year()
        return (date(year, 1, 1), date(year, 12, 31)) if year is not None else None

    def date_condition(self) -> tuple[str, object] | None:
        """A condition on a date field: since/after/before/on/in/between a date, in the last N days,
        more than N days ago, this year, last year. Returns (operator, value); dates as ISO text."""
        start = self.i
        found = self.ago()
        if found:
            return found
        days = self.period()
        if days is not None:
            return "in_last_days", days
        if self.take(("this", "year")):
            return "after", date(self.today.year - 1, 12, 31).isoformat()
        if self.take(("last", "year")):
            return "between", [date(self.today.year - 1, 1, 1).isoformat(), date(self.today.year - 1, 12, 31).isoformat()]
        if self.take(("this", "month")):
            return "after", (self.today.replace(day=1) - timedelta(days=1)).isoformat()
        phrase = self.take(("since",), ("after",), ("before",), ("on",), ("in",), ("during",), ("between",),
                           ("from",))
        span = self.days_range() if phrase else None
        if span is None:
            self.i = start
            return None
        first, last = span
        if phrase in (("between",), ("from",)):
            if not self.take(("and",), ("to",)):
                self.i = start
                return None
            other = self.days_range()
            if other is None:
                self.i = start
                return None
            first, last = min(first, other[0]), max(last, other[1])
            return "between", [first.isoformat(), last.isoformat()]
        if phrase == ("since",):  # since D includes D: "after" is from the day after its value
            return "after", (first - timedelta(days=1)).isoformat()
        if phrase == ("after",):
            return "after", last.isoformat()
        if phrase == ("before",):
            return "before", first.isoformat()
        if first == last:
            return "on", first.isoformat()
        return "between", [first.isoformat(), last.isoformat()]
