"""SMS length: GSM-7 or UCS-2, characters counted, segments at the 160/153 and 70/67 boundaries, and the SQL
expressions agreeing with Python on random texts."""
from __future__ import annotations

import random

import duckdb
import pytest

from crm_core.campaigns.sms import (GSM_BASIC, GSM_EXTENSION, SmsInfo, sms_characters_sql, sms_encoding_sql,
                                    sms_length, sms_segments_sql)


@pytest.mark.parametrize("text, expected", [
    ("", SmsInfo("GSM-7", 0, 1)),
    ("Hello!", SmsInfo("GSM-7", 6, 1)),
    ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡§¿ÄÖÑÜäöñüà", SmsInfo("GSM-7", 44, 1)),
    ("a" * 160, SmsInfo("GSM-7", 160, 1)),
    ("a" * 161, SmsInfo("GSM-7", 161, 2)),
    ("a" * 306, SmsInfo("GSM-7", 306, 2)),
    ("a" * 307, SmsInfo("GSM-7", 307, 3)),
    ("a" * 459, SmsInfo("GSM-7", 459, 3)),
    ("a" * 460, SmsInfo("GSM-7", 460, 4)),
    ("^{}\\[~]|€\f", SmsInfo("GSM-7", 20, 1)),  # extension characters count 2
    ("€" * 80, SmsInfo("GSM-7", 160, 1)),
    ("€" * 80 + "a", SmsInfo("GSM-7", 161, 2)),
    ("a" * 159 + "€", SmsInfo("GSM-7", 161, 2)),
    ("ç", SmsInfo("UCS-2", 1, 1)),  # only the capital Ç is in the GSM alphabet
    ("\u2026", SmsInfo("UCS-2", 1, 1)),  # the ellipsis of truncate() is not GSM
    ("a" * 69 + "é", SmsInfo("GSM-7", 70, 1)),
    ("a" * 69 + "ı", SmsInfo("UCS-2", 70, 1)),
    ("a" * 70 + "ı", SmsInfo("UCS-2", 71, 2)),
    ("ı" * 134, SmsInfo("UCS-2", 134, 2)),
    ("ı" * 135, SmsInfo("UCS-2", 135, 3)),
    ("€" * 69 + "ı", SmsInfo("UCS-2", 70, 1)),  # in UCS-2 the euro counts 1
    ("🎉", SmsInfo("UCS-2", 2, 1)),  # outside the BMP: a surrogate pair
    ("🎉" * 35, SmsInfo("UCS-2", 70, 1)),
    ("🎉" * 35 + "a", SmsInfo("UCS-2", 71, 2)),
    ("Привет", SmsInfo("UCS-2", 6, 1)),
    ("`", SmsInfo("UCS-2", 1, 1)),
])
def test_sms_length(text, expected):
    assert sms_length(text) == expected


def test_the_alphabets():
    assert len(GSM_BASIC) == 127 and len(set(GSM_BASIC)) == 127  # 128 codes less the escape
    assert set(GSM_EXTENSION) == set("\f^{}\\[~]|€")
    assert not set(GSM_BASIC) & set(GSM_EXTENSION)


def _random_text(rng: random.Random) -> str:
    pools = [GSM_BASIC, GSM_EXTENSION, "abc ", "çı…Привет`", "🎉👍🏽\U0010FFFF", "\u00a0\u3000\t"]
    gsm_only = rng.random() < 0.5
    length = rng.choice([0, 1, 69, 70, 71, 80, 134, 135, 152, 159, 160, 161, 200, 306, 307, 400, rng.randint(0, 700)])
    chars = [rng.choice(rng.choice(pools[:3] if gsm_only else pools)) for _ in range(length)]
    return "".join(chars)


def test_sql_equals_python_on_random_texts():
    rng = random.Random(160)
    texts = [_random_text(rng) for _ in range(3000)] + ["a" * 160, "a" * 161, "€" * 80, "€" * 81, "ı" * 70,
                                                         "ı" * 71, "🎉" * 35, "🎉" * 36]
    con = duckdb.connect()
    sql = (f"SELECT i, {sms_encoding_sql('t')}, {sms_characters_sql('t')}, {sms_segments_sql('t')} "
           "FROM unnest($texts) WITH ORDINALITY u(t, i) ORDER BY i")
    rows = con.sql(sql, params={"texts": texts}).fetchall()
    assert len(rows) == len(texts)
    found = [SmsInfo(*row[1:]) for row in rows]
    expected = [sms_length(t) for t in texts]
    assert found == expected
    assert {i.encoding for i in found} == {"GSM-7", "UCS-2"} and max(i.segments for i in found) >= 5


def test_sql_counts_null_as_empty():
    con = duckdb.connect()
    row = con.sql(f"SELECT {sms_encoding_sql('NULL')}, {sms_characters_sql('NULL')}, {sms_segments_sql('NULL')}")
    assert row.fetchall() == [("GSM-7", 0, 1)]
