"""The offline engine for plain English -> segment rules: a deterministic parser for the grammar written
in docs/ai-offline-grammar.md. It refuses, naming the words, whatever it cannot explain word by word."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

from crm_core.ai.offline_lexicon import (ANYTHING, AUX, AVERAGE_WORDS, CONNECTORS, FILLERS, GRAMMAR_WORDS,
                                         NEGATIONS, ORDER_NOUNS, ORDER_VERBS, OUTSIDE_WORDS, PLACE_WORDS, SIGNUP_WORDS,
                                         SPEND_WORDS, Places, build_places, known_places, tokenize)
from crm_core.ai.offline_reader import Reader, Refusal
from crm_core.segments.catalog import Catalog
from crm_core.segments.operators import OPERATORS
from crm_core.segments.rules import RuleError, parse_rules, to_json
from crm_core.validation import utc_now

__all__ = ["OfflineParse", "Places", "build_places", "known_places", "parse_sentence"]
_FLIP = {op.negates: op.key for op in OPERATORS.values() if op.negates}
_FLIP.update({v: k for k, v in _FLIP.items()})
_EXCEPT = (("except",), ("excluding",), ("other", "than"))
EXAMPLE = "customers in São Paulo who spent more than R$500 in the last 3 months but haven't ordered in 30 days"


@dataclass(frozen=True)
class OfflineParse:
    """What the offline engine made of a sentence: canonical rule JSON, or None and the reason."""

    rules: dict | None
    reason: str | None


def _cond(field: str, op: str, value: Any = None, days: int | None = None) -> dict:
    def plain(v: Any) -> Any:  # Decimal -> its digits; parse_rules reads them back exactly
        return v if isinstance(v, (int, str)) else str(v)

    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    if days is not None:
        out["days"] = days
    return out


def _group(match: str, rules: list[dict], negate: bool = False) -> dict:
    flat = []
    for rule in rules:  # an 'all' inside an 'all' (or 'any' inside 'any') is the same as its children
        same = rule.get("match") == match and not rule.get("negate") and not negate
        flat.extend(rule["rules"] if same and "rules" in rule else [rule])
    return {"match": match, "negate": negate, "rules": flat}


def _negate(node: dict) -> dict:
    if "rules" in node:
        return {**node, "negate": not node["negate"]}
    if node["op"] in _FLIP:
        return {**node, "op": _FLIP[node["op"]]}
    return {"match": "all", "negate": True, "rules": [node]}


class _Parser(Reader):
    def __init__(self, tokens, places: Places, today: date):
        super().__init__(tokens, today)
        self.places = places

    # -- sentence ----------------------------------------------------------------------------------
    def sentence(self) -> dict:
        self.fillers()
        self.connector()
        if self.done:
            raise Refusal(f"Describe the customers you want, for example: \"{EXAMPLE}\".")
        terms = [[self.clause_or_refuse()]]
        while not self.done:
            or_at = self.i
            joined = self.connector()
            if self.done:
                raise Refusal(f"The sentence stops after '{self.tokens[-1].raw}': say what comes next.")
            if joined is None and not any(self.at(p) for p in PLACE_WORDS + OUTSIDE_WORDS + _EXCEPT):
                self.refuse_here()
            node = self.clause_or_refuse()
            if joined == "or":
                terms[-1].append(node)
                last_or = or_at
            else:
                if len(terms[-1]) > 1:  # "A or B and C": (A or B) and C, or A or (B and C)?
                    raise Refusal(f"I can't tell which conditions '{self.shown(last_or, self.extent(last_or + 1))}' "
                                  "joins: put the 'or' part last (\"in Brazil who A or B\"), or build the groups "
                                  "in the editor.")
                terms.append([node])
        parts = [t[0] if len(t) == 1 else _group("any", t) for t in terms]
        if len(parts) == 1 and "rules" in parts[0]:
            return parts[0]
        return _group("all", parts)

    def fillers(self) -> None:
        while self.take(*FILLERS):
            pass

    def connector(self) -> str | None:
        start, words = self.i, set()
        while self.word() in CONNECTORS:
            words.add(self.word())
            self.i += 1
        if "or" in words and words & {"and", "but", "plus", "while", "also"}:
            raise Refusal(f"'{self.shown(start, self.i)}' mixes 'and' and 'or': split it into two sentences or "
                          "build the groups in the editor.")
        if self.i == start:
            return None
        return "or" if "or" in words else "and"

    def refuse_here(self) -> None:
        end = self.extent(self.i)
        raise Refusal(f"I could not understand '{self.shown(self.i, end)}'. The offline engine reads the phrases "
                      "listed under 'What the offline engine understands' and nothing else.")

    def clause_or_refuse(self) -> dict:
        node = self.clause()
        if node is None:
            self.refuse_here()
        return node

    # -- one condition (or a small group) ----------------------------------------------------------
    def clause(self) -> dict | None:
        start = self.i
        self.take(("either",))
        negation = self.negation()
        if negation:
            self.fillers()
            self.connector()
            node = self.attempt(self.lapsed, self.never_ordered)
            if node is None:
                node = self.positive()
                node = None if node is None else _negate(node)
        else:
            while self.word() in AUX:
                self.i += 1
            node = self.positive()
        if node is None:
            self.i = start
        return node

    def negation(self) -> bool:
        start = self.i
        while self.word() in AUX and not any(self.at(p) for p in NEGATIONS):
            self.i += 1
        if self.take(*NEGATIONS):
            return True
        self.i = start
        return False

    def attempt(self, *clauses: Callable[[], dict | None]) -> dict | None:
        for clause in clauses:
            start = self.i
            node = clause()
            if node is not None:
                return node
            self.i = start
        return None

    def positive(self) -> dict | None:
        return self.attempt(self.no_orders_lately, self.no_orders, self.spend, self.average, self.order_count,
                            self.ordered_lately, self.last_or_first_order, self.category, self.signup,
                            self.location, self.outside)

    # -- clauses -----------------------------------------------------------------------------------
    def spend(self) -> dict | None:
        if not self.take(*SPEND_WORDS):
            return None
        self.take(("of",), ("is",), ("was",), ("in", "total"), ("a", "total", "of"), ("overall",), ("total",))
        found = self.compare(money=True, exact=False)
        if found is None:
            return None
        self.take(("in", "total"), ("total",), ("overall",), ("in", "all"), ("altogether",))
        days = self.period()
        return _cond("spend_last_days" if days else "total_spend", *found, days=days)

    def average(self) -> dict | None:
        self.take(("an",), ("a",), ("their",), ("the",))
        if not self.take(*AVERAGE_WORDS):
            return None
        self.take(("of",), ("is",), ("was",), ("value",))
        found = self.compare(money=True, exact=False)
        return None if found is None else _cond("avg_order_value", *found)

    def order_count(self) -> dict | None:
        verb = self.take(*ORDER_VERBS) or self.take(("placed",), ("made",), ("having",))
        found = self.compare(money=False, exact=True)
        if found is None:
            return None
        noun = self.take(*((n,) for n in ORDER_NOUNS)) or self.take(("times",), ("time",))
        if noun is None and not verb:  # "more than 3" alone says nothing about orders
            return None
        if noun in (("times",), ("time",)) and not verb:
            return None
        if self.take(("only",)) and found[0] != "=":
            return None
        days = self.period()
        return _cond("orders_last_days" if days else "order_count", *found, days=days)

    def no_orders(self) -> dict | None:
        if not self.take(("no",), ("without",), ("zero",), ("without", "any")):
            return None
        if not self.take(*((n,) for n in ORDER_NOUNS), ("an", "order"), ("a", "purchase"), ("any", "orders")):
            return None
        return _cond("order_count", "=", 0) if self.at_boundary() else None

    def no_orders_lately(self) -> dict | None:
        """'no order in the last 30 days', 'without orders for 2 months' -> last order more than N days ago."""
        if not self.take(("no",), ("without",), ("without", "any")):
            return None
        if not self.take(*((n,) for n in ORDER_NOUNS), ("an", "order"), ("a", "purchase"), ("any", "orders")):
            return None
        days = self.period()
        return None if days is None else _cond("last_order_date", "more_than_days_ago", days)

    def lapsed(self) -> dict | None:
        """After a negation: 'ordered in 30 days', 'bought anything for 2 months', 'ordered since March 2024'."""
        if not self.take(*ORDER_VERBS):
            return None
        self.take(*ANYTHING)
        days = self.period()
        if days is not None:
            return _cond("last_order_date", "more_than_days_ago", days)
        if self.take(("since",)):
            span = self.days_range()
            return None if span is None else _cond("last_order_date", "before", span[0].isoformat())
        return None

    def never_ordered(self) -> dict | None:
        """After a negation: 'ordered', 'bought anything', 'placed an order' -> order_count = 0."""
        if not self.take(*ORDER_VERBS):
            return None
        self.take(*ANYTHING)
        return _cond("order_count", "=", 0) if self.at_boundary() else None

    def ordered_lately(self) -> dict | None:
        """'ordered in the last 2 weeks', 'bought recently in the last 10 days', 'ordered since 2024'."""
        if not self.take(*ORDER_VERBS):
            return None
        self.take(*ANYTHING)
        self.take(("recently",))
        days = self.period()
        if days is not None:
            return _cond("last_order_date", "in_last_days", days)
        phrase = self.take(("since",), ("after",), ("before",))
        span = self.days_range() if phrase else None
        if span is None:
            return None
        if phrase == ("before",):
            return _cond("first_order_date", "before", span[0].isoformat())
        day = span[1] if phrase == ("after",) else span[0] - timedelta(days=1)  # since D includes D
        return _cond("last_order_date", "after", day.isoformat())

    def last_or_first_order(self) -> dict | None:
        self.take(("their",), ("the",), ("whose",))
        which = self.take(("last",), ("most", "recent"), ("latest",), ("first",))
        if which is None or not self.take(("ordered",), ("order",), ("purchase",), ("purchased",), ("bought",)):
            return None
        self.take(("date",))
        self.take(("was",), ("is",), ("happened",), ("placed",))
        found = self.date_condition()
        if found is None:
            return None
        return _cond("first_order_date" if which == ("first",) else "last_order_date", *found)

    def category(self) -> dict | None:
        if not self.take(("bought",), ("purchased",), ("ordered",), ("shopped",), ("buy",), ("purchase",),
                         ("order",), ("shop",), ("bought", "from"), ("shopped", "in"), ("shopped", "from")):
            return None
        self.take(("something",), ("anything",), ("products",), ("items",), ("a", "product"), ("an", "item"))
        self.take(("in", "the"), ("in",), ("from", "the"), ("from",))
        names, joiner = self.name_list(self.known_category)
        if not names:
            return None
        self.take(("category",), ("categories",), ("products",), ("items",))
        if joiner == "and" and len(names) > 1:  # bought Books and Toys: both
            return _group("all", [_cond("bought_category", "any_of", list(n)) for n in names])
        return _cond("bought_category", "any_of", [v for n in names for v in n])

    def signup(self) -> dict | None:
        if not self.take(*SIGNUP_WORDS):
            if not self.at(("since",)):
                return None
        self.take(("date",))
        self.take(("was",), ("is",))
        found = self.date_condition()
        return None if found is None else _cond("signup_date", *found)

    def location(self) -> dict | None:
        if not self.take(*PLACE_WORDS):
            return None
        return self.places_condition()

    def outside(self) -> dict | None:
        if not self.take(*OUTSIDE_WORDS):
            return None
        node = self.places_condition()
        return None if node is None else _negate(node)

    # -- names -------------------------------------------------------------------------------------
    def known_place(self) -> tuple | None:
        return self.longest_name(self.places.lookup)

    def known_category(self) -> tuple | None:
        return self.longest_name(self.places.categories)

    def longest_name(self, look: Callable[[str], list]) -> tuple | None:
        for skip_the in (False, True):
            start = self.i
            if skip_the and not self.take(("the",)):
                return None
            for length in range(min(self.places.longest, len(self.tokens) - self.i), 0, -1):
                words = self.tokens[self.i:self.i + length]
                if any(t.kind == "comma" for t in words):
                    continue
                found = look(" ".join(t.raw for t in words))
                if found:
                    self.i += length
                    return tuple(found)
            self.i = start
        return None

    def name_list(self, known: Callable[[], tuple | None]) -> tuple[list[tuple], str | None]:
        """Names joined by commas, 'or' and 'and' ('the US, Canada or Brazil'); the last joiner."""
        first = known()
        if first is None:
            return [], None
        names, joiner = [first], None
        while True:
            start = self.i
            said = self.take((",", "or"), (",", "and"), (",",), ("or",), ("and",))
            if said is None:
                break
            nxt = known()
            if nxt is None:
                self.i = start
                break
            names.append(nxt)
            joiner = said[-1] if said[-1] != "," else joiner
        return names, ("or" if joiner is None else joiner)

    def places_condition(self) -> dict | None:
        start = self.i
        names, _ = self.name_list(self.known_place)
        if not names:
            tok = self.peek()
            if tok is None or tok.kind != "word" or self.at(("the", "last")) or self.at(("the", "past")) \
                    or tok.norm in CONNECTORS:
                return None
            self.take(("the",))
            end = self.extent(self.i, GRAMMAR_WORDS)
            shown = self.shown(self.i, end) or self.shown(start, end)
            raise Refusal(f"I don't know a place called '{shown}' in this workspace.")
        by_field: dict[str, list[str]] = {}
        for name in names:
            for field_key, value in name:
                if value not in by_field.setdefault(field_key, []):
                    by_field[field_key].append(value)
        conditions = [_cond(f, "is", v[0]) if len(v) == 1 else _cond(f, "in", v) for f, v in by_field.items()]
        return conditions[0] if len(conditions) == 1 else _group("any", conditions)


def parse_sentence(text: str, catalog: Catalog, places: Places, *, today: date | None = None) -> OfflineParse:
    """The rule a sentence describes (canonical JSON), or None and a reason naming what was not understood.
    `today` (UTC by default) only matters for 'this year', 'last year' and 'this month'."""
    tokens = tokenize(text or "")
    bad = next((t for t in tokens if t.problem), None)
    if bad is not None:
        return OfflineParse(None, bad.problem)
    parser = _Parser(tokens, places, today or utc_now().date())
    try:
        tree = parser.sentence()
        return OfflineParse(to_json(parse_rules(tree, catalog)), None)
    except Refusal as exc:
        return OfflineParse(None, str(exc))
    except RuleError as exc:
        return OfflineParse(None, f"The sentence makes a rule that does not hold: {exc}")
