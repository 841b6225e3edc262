"""SMS length: encoding, characters and segments of a message, in Python and as DuckDB SQL for many rows.

A text made only of GSM 03.38 characters is sent as GSM-7: each character counts 1, the extension
characters (form feed ^ { } \\ [ ~ ] | €) count 2 (an escape plus the character). Any other character
makes the whole text UCS-2, where each UTF-16 code unit counts 1 (an emoji outside the BMP counts 2).
Segments: one up to 160 GSM-7 / 70 UCS-2 characters; longer texts are split into parts of 153 / 67
(the rest holds the concatenation header): ceil(characters / 153) or ceil(characters / 67). An empty
text is one segment. (Real vendors never split an escape pair or a surrogate pair over two parts, which
can add a part in rare edge cases; this count does not model that.)
"""
from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = "\f^{}\\[~]|€"
_GSM = frozenset(GSM_BASIC + GSM_EXTENSION)
_EXTENSION = frozenset(GSM_EXTENSION)
SINGLE, PART = {"GSM-7": 160, "UCS-2": 70}, {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsInfo:
    """How a text goes out as SMS: encoding ("GSM-7" or "UCS-2"), characters counted and segments."""

    encoding: str
    characters: int
    segments: int


def _segments(encoding: str, characters: int) -> int:
    if characters <= SINGLE[encoding]:
        return 1
    return -(-characters // PART[encoding])


def sms_length(text: str) -> SmsInfo:
    """Encoding, counted characters and segments of one SMS text."""
    if all(ch in _GSM for ch in text):
        characters = len(text) + sum(ch in _EXTENSION for ch in text)
        return SmsInfo("GSM-7", characters, _segments("GSM-7", characters))
    characters = len(text.encode("utf-16-le")) // 2
    return SmsInfo("UCS-2", characters, _segments("UCS-2", characters))


# -- SQL ------------------------------------------------------------------------------------------------
def _re2_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(ch):X}}}" for ch in chars) + "]"


_RE_GSM = _re2_class(GSM_BASIC + GSM_EXTENSION)
_RE_EXTENSION = _re2_class(GSM_EXTENSION)
_RE_ASTRAL = "[\\x{10000}-\\x{10FFFF}]"  # outside the BMP: two UTF-16 code units


def _over(expr: str, body: str) -> str:
    """`body` (over `_sms`) evaluated once for the text `expr` (NULL counts as empty)."""
    return f"list_transform([coalesce({expr}, '')], lambda _sms: {body})[1]"


def _signed_characters(text: str) -> str:
    """The GSM-7 character count, or minus the UCS-2 count (one regex pass decides the encoding).

    Counting the rare characters with regexp_extract_all is ~30x faster than deleting all the others."""
    return (f"CASE WHEN regexp_full_match({text}, '{_RE_GSM}*') "
            f"THEN length({text}) + len(regexp_extract_all({text}, '{_RE_EXTENSION}')) "
            f"ELSE -(length({text}) + len(regexp_extract_all({text}, '{_RE_ASTRAL}'))) END")


def sms_encoding_sql(expr: str) -> str:
    """A DuckDB expression: 'GSM-7' or 'UCS-2' for the text `expr`, like sms_length."""
    return _over(expr, f"CASE WHEN regexp_full_match(_sms, '{_RE_GSM}*') THEN 'GSM-7' ELSE 'UCS-2' END")


def sms_characters_sql(expr: str) -> str:
    """A DuckDB expression: the characters counted for the text `expr`, like sms_length."""
    return _over(expr, f"abs({_signed_characters('_sms')})")


def sms_segments_sql(expr: str) -> str:
    """A DuckDB expression: the number of SMS segments of the text `expr`, like sms_length."""
    def segments(encoding: str, n: str) -> str:
        single, part = SINGLE[encoding], PART[encoding]
        return f"CASE WHEN {n} <= {single} THEN 1 ELSE ({n} + {part - 1}) // {part} END"
    return _over(expr, f"list_transform([{_signed_characters('_sms')}], lambda _n: CASE WHEN _n >= 0 "
                       f"THEN {segments('GSM-7', '_n')} ELSE {segments('UCS-2', '-_n')} END)[1]")
