"""The offline parser's words: a tokenizer that reads amounts (currency signs, k/m suffixes), the fixed
phrase lists of the grammar (docs/ai-offline-grammar.md), and the workspace's place and category names."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal

from crm_core.analytics.geo import COUNTRY_ALIASES, US_STATES, country_outline
from crm_core.store import Store

_CURRENCY_BEFORE = r"us\$|r\$|\$|€|£|(?:usd|brl|eur|gbp)\b"
_CURRENCY_AFTER = r"usd|brl|eur|gbp|reais|real|dollars?|euros?|pounds?|bucks"
_TOKEN = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?!\d)"
    rf"|(?P<minus0>[-−])?(?:(?P<pre>{_CURRENCY_BEFORE})\s*)?(?P<minus>[-−])?(?P<num>\d[\d.,]*\d|\d)"
    rf"(?:\s*(?P<suffix>[km])\b)?(?P<plus>\+)?(?:\s*(?P<post>{_CURRENCY_AFTER})\b)?"
    r"|(?P<word>[^\W\d_]+(?:['’_-][^\W\d_]+)*|>=|<=|[≥≤<>=&])"
    r"|(?P<comma>[,;])"
    r"|(?P<skip>[\s.?!()\"'’]+)"
    r"|(?P<other>\S)",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_PLAIN = re.compile(r"\d+(\.\d+)?")
_AMBIGUOUS = re.compile(r"\d{1,3}\.\d{3}")  # 1.500: one and a half, or fifteen hundred written the Brazilian way?
_SUFFIX = {"k": Decimal(1_000), "m": Decimal(1_000_000)}


@dataclass(frozen=True)
class Token:
    """One piece of a sentence: a word, a number (amount), an ISO date or a comma, with the text as typed."""

    kind: str  # word | number | date | comma
    norm: str  # folded: lower case, accents removed
    raw: str
    number: Decimal | None = None
    money: bool = False  # a currency sign or code came with the number
    plus: bool = False  # "5+"
    problem: str | None = None  # a number the parser will not guess at


def fold(text: str) -> str:
    """Lower case without accents and with straight apostrophes: 'São Paulo' -> 'sao paulo'."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _number(found: re.Match) -> Token:
    raw = found.group(0).strip()
    digits, suffix = found.group("num"), (found.group("suffix") or "").lower()
    money = bool(found.group("pre") or found.group("post"))
    problem = None
    if found.group("minus") or found.group("minus0"):
        problem = f"'{raw}' is a negative number: amounts, counts and days are never below zero."
    elif _THOUSANDS.fullmatch(digits):
        digits = digits.replace(",", "")
    elif not _PLAIN.fullmatch(digits) or (_AMBIGUOUS.fullmatch(digits) and not suffix):
        problem = (f"I can't tell what number '{raw}' means: write it with a dot for decimals and a comma "
                   f"(or nothing) for thousands, e.g. 1500 or 1,500 or 1.5k.")
    value = None if problem else Decimal(digits) * _SUFFIX.get(suffix, Decimal(1))
    return Token("number", fold(raw), raw, value, money, bool(found.group("plus")), problem)


def tokenize(text: str) -> list[Token]:
    """The tokens of a sentence (spaces and end punctuation dropped)."""
    tokens = []
    for found in _TOKEN.finditer(text):
        kind = found.lastgroup
        if found.group("date"):
            tokens.append(Token("date", found.group(0), found.group(0)))
        elif found.group("num"):
            tokens.append(_number(found))
        elif found.group("word") or found.group("other"):
            raw = found.group(0)
            tokens.append(Token("word", {"≥": ">=", "≤": "<="}.get(raw, fold(raw)), raw))
        elif found.group("comma"):
            tokens.append(Token("comma", ",", found.group(0)))
        elif kind != "skip":  # pragma: no cover - every character falls in one group
            raise AssertionError(kind)
    return tokens


def key(text: str) -> str:
    """How a name is compared: folded words joined by one space ('  São  Paulo ' and 'sao_paulo' -> 'sao paulo')."""
    return " ".join(re.sub(r"[_-]", " ", " ".join(t.norm for t in tokenize(text))).split())


# -- the grammar's fixed words ---------------------------------------------------------------------
NUMBER_WORDS = {
    "zero": 0, "no": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100,
}
TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3}
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365, "years": 365}
MONTHS = {name: i + 1 for i, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
    "september sep sept", "october oct", "november nov", "december dec")) for name in names.split()}

# Comparators: phrase -> operator. "exactly", "only" and a bare number mean "=" (counts only).
COMPARATORS = {
    ("more", "than"): ">", ("over",): ">", ("above",): ">", ("greater", "than"): ">", ("higher", "than"): ">",
    ("bigger", "than"): ">", (">",): ">",
    ("at", "least"): ">=", ("no", "less", "than"): ">=", ("not", "less", "than"): ">=", ("no", "fewer", "than"): ">=",
    ("minimum",): ">=", ("minimum", "of"): ">=", (">=",): ">=",
    ("less", "than"): "<", ("fewer", "than"): "<", ("under",): "<", ("below",): "<", ("lower", "than"): "<",
    ("smaller", "than"): "<", ("<",): "<",
    ("at", "most"): "<=", ("no", "more", "than"): "<=", ("not", "more", "than"): "<=", ("up", "to"): "<=",
    ("maximum",): "<=", ("maximum", "of"): "<=", ("<=",): "<=",
    ("exactly",): "=", ("only",): "=", ("just",): "=", ("=",): "=", ("equal", "to"): "=",
}
POSTFIX = {("or", "more"): ">=", ("or", "above"): ">=", ("or", "over"): ">=", ("and", "up"): ">=",
           ("and", "above"): ">=", ("or", "less"): "<=", ("or", "fewer"): "<=", ("or", "under"): "<=",
           ("or", "below"): "<="}

CONNECTORS = {",", "and", "but", "who", "whose", "with", "that", "which", "or", "while", "also", "plus"}
FILLERS = (("show", "me"), ("give", "me"), ("find", "me"), ("find",), ("list",), ("get",), ("select",),
           ("all", "the"), ("all",), ("every",), ("any",), ("the",), ("those",), ("customers",), ("customer",),
           ("people",), ("clients",), ("users",), ("shoppers",), ("contacts",), ("everyone",), ("everybody",),
           ("anyone",), ("someone",))
AUX = {"have", "has", "had", "do", "does", "did", "are", "is", "were", "was", "who've", "they", "already",
       "either", "been", "also"}
NEGATIONS = (("haven't",), ("havent",), ("hasn't",), ("hasnt",), ("hadn't",), ("didn't",), ("didnt",),
             ("don't",), ("dont",), ("doesn't",), ("doesnt",), ("aren't",), ("isn't",), ("weren't",), ("wasn't",),
             ("have", "not"), ("has", "not"), ("had", "not"), ("did", "not"), ("do", "not"), ("does", "not"),
             ("are", "not"), ("is", "not"), ("were", "not"), ("was", "not"), ("have", "never"), ("has", "never"),
             ("had", "never"), ("not",), ("never",), ("except", "for"), ("except",), ("excluding",),
             ("other", "than"))
ORDER_VERBS = (("placed", "an", "order"), ("placed", "any", "orders"), ("placed", "orders"), ("made", "a", "purchase"),
               ("made", "an", "order"), ("made", "any", "purchases"), ("place", "an", "order"), ("make", "a", "purchase"),
               ("ordered",), ("bought",), ("purchased",), ("shopped",), ("order",), ("buy",), ("purchase",),
               ("shop",), ("orders",), ("buys",), ("purchases",))
ANYTHING = (("anything",), ("something",), ("any", "orders"), ("any", "order"), ("an", "order"), ("a", "thing"),
            ("any", "products"), ("anything", "at", "all"), ("at", "all"), ("yet",), ("ever",))
ORDER_NOUNS = ("orders", "order", "purchases", "purchase")
SPEND_WORDS = (("a", "total", "spend"), ("a", "total", "spending"), ("total", "spend"), ("total", "spending"),
               ("total", "spent"), ("lifetime", "spend"), ("lifetime", "value"), ("spent",), ("spend",),
               ("spends",), ("spending",))
AVERAGE_WORDS = (("average", "order", "value"), ("average", "order", "size"), ("average", "order", "amount"),
                 ("average", "order"), ("average", "basket", "size"), ("average", "basket"),
                 ("average", "spend", "per", "order"), ("average", "ticket"), ("average", "purchase"),
                 ("avg", "order", "value"), ("avg", "order"), ("aov",))
SIGNUP_WORDS = (("signed", "up"), ("sign", "up"), ("signed",), ("joined", "us"), ("joined",), ("registered",),
                ("became", "a", "customer"), ("became", "customers"), ("became", "a", "client"),
                ("customer", "since"), ("customers", "since"), ("signup", "date"), ("sign-up", "date"),
                ("signed-up",), ("sign-up",))
PLACE_WORDS = (("who", "live", "in"), ("living", "in"), ("live", "in"), ("lives", "in"), ("based", "in"),
               ("located", "in"), ("residing", "in"), ("come", "from"), ("comes", "from"), ("coming", "from"),
               ("in",), ("from",))
OUTSIDE_WORDS = (("outside", "of"), ("outside",), ("not", "in"), ("not", "from"))
# Words that start a grammar phrase: a place name or category never runs into them.
GRAMMAR_WORDS = (CONNECTORS | AUX | {w for p in NEGATIONS + ORDER_VERBS + SPEND_WORDS + SIGNUP_WORDS for w in p[:1]}
                 | {"average", "avg", "aov", "last", "first", "since", "before", "after", "in", "from", "no",
                    "without", "outside", "living", "based", "located", "during", "within", "over", "between"})


# -- the workspace's names ------------------------------------------------------------------------
PLACE_FIELDS = ("city", "state", "country")
_DISTINCT_LIMIT = 200_000


@dataclass(frozen=True)
class Places:
    """Place names as they are stored in this workspace (and the category names its items carry)."""

    names: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, hash=False)  # key -> ((field, value),)
    aliases: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, hash=False)  # when names has none
    category_names: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # key -> stored categories

    def lookup(self, name: str) -> list[tuple[str, str]]:
        """[(field key "city"|"state"|"country", stored value)] a place name stands for; [] when unknown."""
        wanted = key(name)
        return list(self.names.get(wanted) or self.aliases.get(wanted) or ())

    def categories(self, name: str) -> list[str]:
        """The stored category names a name stands for (case and accents ignored); [] when unknown."""
        return list(self.category_names.get(key(name), ()))

    @cached_property
    def longest(self) -> int:
        """How many tokens the longest known name has (how far a match is tried)."""
        keys = [*self.names, *self.aliases, *self.category_names]
        return max((k.count(" ") + 1 for k in keys), default=1)


def _add(table: dict[str, list[tuple[str, str]]], name: str, entry: tuple[str, str]) -> None:
    found = table.setdefault(key(name), [])
    if entry not in found:
        found.append(entry)


def build_places(cities=(), states=(), countries=(), categories=()) -> Places:
    """Places from stored values: exact names, US state names for stored codes, and country aliases."""
    names: dict[str, list[tuple[str, str]]] = {}
    aliases: dict[str, list[tuple[str, str]]] = {}
    for field_key, values in (("city", cities), ("state", states), ("country", countries)):
        for value in values:
            if value and key(value):
                _add(names, value, (field_key, value))
    for value in states:  # "Texas" means the stored code "TX"; "TX" means a stored "Texas"
        upper = (value or "").strip().upper()
        if upper in US_STATES:
            _add(names, US_STATES[upper], ("state", value))
        for code, full in US_STATES.items():
            if key(value or "") == key(full):
                _add(aliases, code, ("state", value))
    for value in countries:
        outline = country_outline(value)
        if outline:
            _add(aliases, outline, ("country", value))
            for alias, target in COUNTRY_ALIASES.items():
                if target == outline:
                    _add(aliases, alias, ("country", value))
    order = {f: i for i, f in enumerate(PLACE_FIELDS)}
    ordered = {k: tuple(sorted(v, key=lambda e: order[e[0]])) for k, v in names.items()}
    cats: dict[str, list[str]] = {}
    for value in categories:
        if value and key(value):
            cats.setdefault(key(value), []).append(value)
    return Places(ordered, {k: tuple(v) for k, v in aliases.items()}, {k: tuple(v) for k, v in cats.items()})


def known_places(store: Store) -> Places:
    """The distinct cities, states and countries of the workspace's customers (and its item categories)."""
    def distinct(sql: str) -> list[str]:
        return sorted(r[0] for r in store.rows(sql, [_DISTINCT_LIMIT]))

    return build_places(
        distinct("SELECT DISTINCT city FROM customers WHERE city IS NOT NULL LIMIT ?"),
        distinct("SELECT DISTINCT state FROM customers WHERE state IS NOT NULL LIMIT ?"),
        distinct("SELECT DISTINCT country FROM customers WHERE country IS NOT NULL LIMIT ?"),
        distinct("SELECT DISTINCT category FROM order_items WHERE category IS NOT NULL LIMIT ?"),
    )
