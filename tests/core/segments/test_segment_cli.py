"""`python -m crm_core segment preview|export|list` on the small shop, called in-process (and once as a
real subprocess): counts, waterfall and sample per rule format, errors without tracebacks, exports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from crm_core.cli import main
from crm_core.segments.saved import save_segment
from tests.core.segments.small_shop import PEOPLE, build_shop, who

PROJECT_ROOT = Path(__file__).resolve().parents[3]
AS_OF = ["--as-of", "2026-11-20"]
GROUPS = {"groups": [{"conditions": [{"field": "totalSpend", "operator": "greaterThan", "value": 10000},
                                     {"field": "state", "operator": "equals", "value": "CA"}]},
                     {"conditions": [{"field": "orderCount", "operator": "greaterThanOrEqual", "value": 5}]}]}
TREE = {"id": "root", "logic": "AND", "rules": [{"id": "rule1", "field": "totalSpent", "operator": "greater_than",
                                                 "value": 100, "type": "number"}]}
FLAT = [{"field": "totalSpending", "operator": ">", "value": 1000, "logicalOperator": "AND"},
        {"field": "visits", "operator": "<", "value": 3, "logicalOperator": "OR"}]
CANONICAL = {"match": "all", "negate": False, "rules": [
    {"field": "last_order_date", "op": "more_than_days_ago", "value": 90}]}
CA = {"match": "all", "negate": False, "rules": [{"field": "state", "op": "is", "value": "CA"}]}


@pytest.fixture
def shop(store, tmp_path):
    ids = build_shop(store)
    return store, str(store.path), ids, tmp_path


def _rules(tmp_path: Path, data, name: str = "rule.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _sample_names(out: str) -> set[str]:
    lines = out.split("\nsample:\n", 1)[1].splitlines() if "\nsample:\n" in out else []
    return {line.split()[1] for line in lines if line.strip()}


@pytest.mark.parametrize("data,fmt,expected,labels", [
    (GROUPS, "OR of AND groups (groups / conditions)",
     who(lambda p: (p.spend > 10000 and p.state == "CA") or p.count >= 5),
     ["all of 2 rules", "total spend is more than 10,000", "state is 'CA'", "number of orders is at least 5"]),
    (TREE, "nested tree (id / logic / rules)", who(lambda p: p.spend > 100), ["total spend is more than 100"]),
    (FLAT, "flat list with logicalOperator", who(lambda p: p.spend > 1000 and p.visits is not None and p.visits < 3),
     ["total spend is more than 1,000", "visits is less than 3"]),
    (CANONICAL, "Mini CRM rule", who(lambda p: p.last_order is not None and p.last_order < date(2026, 8, 22)),
     ["last order date is more than 90 days ago"]),
])
def test_preview_prints_count_waterfall_and_sample(shop, capsys, data, fmt, expected, labels) -> None:
    store, db, _ids, tmp_path = shop
    assert 0 < len(expected) < len(PEOPLE)
    assert main(["--db", db, "segment", "preview", "--rules", _rules(tmp_path, data), *AS_OF]) == 0
    out = capsys.readouterr().out
    assert f"format: {fmt}\n" in out
    share = f"{len(expected) / len(PEOPLE):.1%}"
    assert f"\n{len(expected)} of {len(PEOPLE)} customers ({share}) as of 2026-11-20\n" in out
    waterfall = out.split("\nwaterfall:\n", 1)[1].split("\n\nsample:", 1)[0]
    for label in labels:
        assert label in waterfall
    assert _sample_names(out) == set(expected)


def test_preview_waterfall_counts(shop, capsys) -> None:
    _store, db, _ids, tmp_path = shop
    assert main(["--db", db, "segment", "preview", "--rules", _rules(tmp_path, GROUPS), *AS_OF]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.split("\nwaterfall:\n", 1)[1].split("\n\n", 1)[0].splitlines()]
    # label ... alone N running N (+/-change)
    counts = [(int(r[-4].replace(",", "")), int(r[-2].replace(",", ""))) for r in rows]
    spend, ca, five = (who(lambda p: p.spend > 10000), who(lambda p: p.state == "CA"), who(lambda p: p.count >= 5))
    assert counts == [(len(spend & ca), len(spend & ca)), (len(spend), len(spend)), (len(ca), len(spend & ca)),
                      (len(five), len(spend & ca | five)), (len(five), len(five))]


def test_preview_sample_size_and_no_sample(shop, capsys) -> None:
    _store, db, _ids, tmp_path = shop
    rules = _rules(tmp_path, TREE)
    assert main(["--db", db, "segment", "preview", "--rules", rules, *AS_OF, "--sample", "2"]) == 0
    assert len(_sample_names(capsys.readouterr().out)) == 2
    assert main(["--db", db, "segment", "preview", "--rules", rules, *AS_OF, "--sample", "0"]) == 0
    captured = capsys.readouterr()
    assert "sample:" not in captured.out and "4 of 6 customers" in captured.out
    assert captured.err == ""


def test_preview_without_as_of_uses_today(shop, capsys) -> None:
    _store, db, _ids, tmp_path = shop
    from crm_core.segments.preview import today
    assert main(["--db", db, "segment", "preview", "--rules", _rules(tmp_path, CA)]) == 0
    assert f"3 of 6 customers (50.0%) as of {today().isoformat()}" in capsys.readouterr().out


def _fails(capsys, argv: list[str]) -> list[str]:
    """Run a command that must fail: exit 1, every stderr line an 'error:' line, no traceback."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines


@pytest.mark.parametrize("data,words", [
    ([{"field": "state", "operator": "=", "value": "CA", "logicalOperator": "AND"},
      {"field": "shoeSize", "operator": ">", "value": 40}], ["'shoeSize'", "(at 1)"]),
    ({"groups": [{"conditions": [{"field": "totalSpend", "operator": "approximately", "value": 5}]}]},
     ["'approximately'", "(at 0.0)"]),
    ({"match": "all", "rules": [{"field": "total_spend", "op": "between", "value": [10, 1]}]}, ["low value"]),
    ({"match": "all", "rules": [{"field": "name", "op": "is", "value": "x' OR 1=1 --"},
                                {"field": "shoe", "op": "is", "value": 1}]}, ["unknown field \"shoe\""]),
    ('{"groups": [', ["not valid JSON"]),
    ({"hello": "world"}, ["not a rule format"]),
])
def test_preview_errors_exit_1_with_error_lines(shop, capsys, data, words) -> None:
    _store, db, _ids, tmp_path = shop
    lines = _fails(capsys, ["--db", db, "segment", "preview", "--rules", _rules(tmp_path, data), *AS_OF])
    for word in words:
        assert any(word in line for line in lines), (word, lines)


def test_preview_of_a_missing_or_unreadable_file(shop, capsys, tmp_path) -> None:
    _store, db, _ids, _ = shop
    _fails(capsys, ["--db", db, "segment", "preview", "--rules", str(tmp_path / "nope.json")])
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    _fails(capsys, ["--db", db, "segment", "preview", "--rules", str(binary)])


def test_preview_of_a_rule_using_a_broken_saved_segment(shop, capsys) -> None:
    store, db, _ids, tmp_path = shop
    few_visits = save_segment(store, "Few visits", {"match": "all", "rules": [
        {"field": "attr:visits", "op": "<", "value": 3}]})
    store.write(lambda cur: cur.execute("DELETE FROM custom_attributes WHERE name = 'visits'"))
    rule = {"match": "all", "rules": [{"field": "segment", "op": "member_of", "value": few_visits}]}
    lines = _fails(capsys, ["--db", db, "segment", "preview", "--rules", _rules(tmp_path, rule), *AS_OF])
    assert any("'Few visits' no longer works" in line for line in lines)


def test_preview_with_a_bad_as_of_is_a_usage_error(shop, capsys) -> None:
    _store, db, _ids, tmp_path = shop
    with pytest.raises(SystemExit) as exit_:
        main(["--db", db, "segment", "preview", "--rules", _rules(tmp_path, CA), "--as-of", "yesterday"])
    assert exit_.value.code == 2 and "error:" in capsys.readouterr().err


# -- export and list -------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix,extra,reader", [
    (".csv", [], pl.read_csv), (".parquet", [], pl.read_parquet),
    (".out", ["--format", "parquet"], pl.read_parquet), (".txt", [], pl.read_csv),
])
def test_export_writes_the_members(shop, capsys, suffix, extra, reader) -> None:
    store, db, ids, tmp_path = shop
    save_segment(store, "Big spenders in CA", {"match": "all", "rules": [
        {"field": "state", "op": "is", "value": "CA"}, {"field": "total_spend", "op": ">", "value": 1000}]})
    out = tmp_path / "export" / f"members{suffix}"
    assert main(["--db", db, "segment", "export", "big spenders in ca", "--out", str(out), *extra]) == 0
    assert f"exported 2 members of 'Big spenders in CA' to {out}" in capsys.readouterr().out
    frame = reader(out)
    expected = who(lambda p: p.state == "CA" and p.spend > 1000)
    assert frame["id"].to_list() == sorted(ids[n] for n in expected)
    assert frame["email"].to_list() == [PEOPLE[n].email for n in sorted(expected, key=ids.get)]
    assert [str(v) for v in frame["total_spend"].to_list()] in (
        [f"{PEOPLE[n].spend:.1f}" for n in sorted(expected, key=ids.get)],
        [f"{PEOPLE[n].spend:.2f}" for n in sorted(expected, key=ids.get)])


def test_export_neutralises_formulas_in_csv(shop, capsys) -> None:
    store, db, ids, tmp_path = shop
    store.write(lambda cur: cur.execute("UPDATE customers SET name = '=HYPERLINK(\"x\")' WHERE id = ?", [ids["Eve"]]))
    save_segment(store, "Texas", {"match": "all", "rules": [{"field": "state", "op": "is", "value": "TX"}]})
    out = tmp_path / "tx.csv"
    assert main(["--db", db, "segment", "export", "Texas", "--out", str(out)]) == 0
    assert pl.read_csv(out)["name"].to_list() == ["'=HYPERLINK(\"x\")"]


def test_export_of_an_empty_segment_writes_a_header(shop, capsys) -> None:
    store, db, _ids, tmp_path = shop
    save_segment(store, "Nobody", {"match": "any", "rules": []})
    out = tmp_path / "nobody.csv"
    assert main(["--db", db, "segment", "export", "Nobody", "--out", str(out)]) == 0
    assert "exported 0 members" in capsys.readouterr().out
    frame = pl.read_csv(out)
    assert frame.height == 0 and "email" in frame.columns


def test_export_of_a_segment_that_no_longer_works(shop, capsys, tmp_path) -> None:
    store, db, _ids, _ = shop
    save_segment(store, "Few visits", {"match": "all", "rules": [{"field": "attr:visits", "op": "<", "value": 3}]})
    store.write(lambda cur: cur.execute("DELETE FROM custom_attributes WHERE name = 'visits'"))
    lines = _fails(capsys, ["--db", db, "segment", "export", "Few visits", "--out", str(tmp_path / "few.csv")])
    assert "'Few visits' no longer works" in lines[0] and "attr:visits" in lines[0]
    assert not (tmp_path / "few.csv").exists()


def test_export_of_an_unknown_segment(shop, capsys, tmp_path) -> None:
    _store, db, _ids, _ = shop
    lines = _fails(capsys, ["--db", db, "segment", "export", "Nope", "--out", str(tmp_path / "x.csv")])
    assert "'Nope'" in lines[0]
    assert not (tmp_path / "x.csv").exists()


def test_list_prints_each_segment_with_its_size(shop, capsys) -> None:
    store, db, _ids, _ = shop
    assert main(["--db", db, "segment", "list"]) == 0
    assert capsys.readouterr().out == ""
    ca = save_segment(store, "California", CA)
    big = save_segment(store, "Big", {"match": "all", "rules": [{"field": "total_spend", "op": ">", "value": 1000}]})
    assert main(["--db", db, "segment", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [[str(big), "Big"], [str(ca), "California"]]
    assert [line.split()[-2] for line in lines] == [str(len(who(lambda p: p.spend > 1000))),
                                                    str(len(who(lambda p: p.state == "CA")))]


def test_real_subprocess_error_has_no_traceback(shop) -> None:
    store, db, _ids, tmp_path = shop
    rules = _rules(tmp_path, [{"field": "shoeSize", "operator": ">", "value": 40}])
    store.close()  # the child process needs the file to itself
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "crm_core", "--db", db, "segment", "preview", "--rules", rules],
                          capture_output=True, text=True, timeout=120, env=env, cwd=PROJECT_ROOT)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the field 'shoeSize' does not map") and "Traceback" not in proc.stderr
