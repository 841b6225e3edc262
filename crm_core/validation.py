"""Field validation shared by forms, imports and the API: clear messages, never exceptions from deep inside."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"']+\.[A-Za-z]{2,}$")
PHONE_CHARS_RE = re.compile(r"^\+?[0-9 ().\-/]+$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class ValidationError(ValueError):
    """Input that cannot be saved; `errors` maps each field to a message a user can act on."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class ConflictError(ValidationError):
    """Input that clashes with a record already there (a taken e-mail or number); `errors` says which field."""


class NotFoundError(LookupError):
    """The record asked for does not exist (any more)."""


def as_sentence(message: object) -> str:
    """A message with its first letter upper-cased and a full stop (the rest kept as written)."""
    text = str(message)
    return text[:1].upper() + text[1:] + "."


def clean_text(value: object) -> str | None:
    """Trimmed text, or None for blank input."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalize_email(value: object) -> str | None:
    """An e-mail trimmed and lower-cased, or None when blank; raises ValueError when malformed."""
    text = clean_text(value)
    if text is None:
        return None
    text = text.lower()
    if len(text) > 254 or not EMAIL_RE.match(text):
        raise ValueError(f"'{text}' is not a valid e-mail address (expected name@domain.tld)")
    return text


def normalize_phone(value: object) -> str | None:
    """A phone trimmed, checked for 7 to 15 digits and allowed separators, or None when blank."""
    text = clean_text(value)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    if not PHONE_CHARS_RE.match(text) or not 7 <= len(digits) <= 15:
        raise ValueError(
            f"'{text}' is not a valid phone number (7 to 15 digits, optional +, spaces, dashes, brackets)"
        )
    return text


def parse_money(value: object, *, allow_negative: bool = False) -> Decimal:
    """A money amount as Decimal with 2 places; raises ValueError with a readable reason."""
    text = clean_text(value)
    if text is None:
        raise ValueError("an amount is required")
    try:
        amount = Decimal(str(text).replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"'{text}' is not a number")
    if amount < 0 and not allow_negative:
        raise ValueError("the amount must be 0 or more")
    if abs(amount) >= Decimal("1e16"):
        raise ValueError("the amount is too large")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # as DuckDB rounds


def parse_timestamp(value: object) -> datetime:
    """A date or date-time (ISO text, date or datetime) as naive UTC; raises ValueError if unparseable."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = clean_text(value)
    if text is None:
        raise ValueError("a date is required")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text}' is not a date (use YYYY-MM-DD or YYYY-MM-DD HH:MM)") from None
    return parse_timestamp(parsed)


def parse_currency(value: object) -> str:
    """A 3-letter ISO currency code, upper-cased; raises ValueError otherwise."""
    text = (clean_text(value) or "").upper()
    if not CURRENCY_RE.match(text):
        raise ValueError("the currency must be a 3-letter code such as USD, EUR or BRL")
    return text


def utc_now() -> datetime:
    """The current time as naive UTC, the way timestamps are stored."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
