"""Segment facts: the same answers as the live tables, out of use after every write that changes the data,
rebuilt in the background, and bypassed for historical as-of dates."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from crm_core import demo, stats
from crm_core.customer_records import CustomerInput, create_customer, delete_customer, update_customer
from crm_core.ingest import history
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.saved_mappings import save_mapping
from crm_core.order_records import OrderInput, create_order, delete_order, update_order
from crm_core.schema import MIGRATIONS, Migration
from crm_core.segments import facts
from crm_core.segments.catalog import load_catalog
from crm_core.segments.compiler import Compiler, compile_rule
from crm_core.segments.preview import SAMPLE_COLUMNS, explain, preview, sample_frame, waterfall
from crm_core.segments.rules import parse_rules
from crm_core.segments.saved import delete_segment, measure_segments, save_segment
from crm_core.store import Store
from tests.core.ingest.helpers import run, write
from tests.core.segments.world import AS_OF, LATEST_AS_OF, open_world

DAY = LATEST_AS_OF - timedelta(days=3)  # new orders stay on or before the as-of date: the facts still apply


def _c(field: str, op: str, value=None, days: int | None = None) -> dict:
    cond = {"field": field, "op": op}
    if days is not None:
        cond["days"] = days
    if value is not None:
        cond["value"] = value
    return cond


def _all(*rules, match: str = "all", negate: bool = False) -> dict:
    return {"match": match, "negate": negate, "rules": list(rules)}


RULES = [  # every source of a field, alone and mixed with OR and NOT
    _all(_c("total_spend", ">", 100)),
    _all(_c("total_spend", ">", 10), _c("state", "is", "ca"), match="any"),
    _all(_all(_c("order_count", ">=", 3), _c("avg_order_value", "between", [5, 300])),
         _all(_c("state", "in", ["CA", "ny", "TX"]), _all(_c("last_order_date", "in_last_days", 30), negate=True)),
         match="any"),
    _all(_c("days_since_last_order", ">", 60), _c("first_order_date", "before", "2024-01-01")),
    _all(_c("last_order_date", "never"), _c("name", "contains", "smith"), match="any"),
    _all(_c("spend_last_days", ">", 100, days=30)),
    _all(_c("spend_last_days", "<", 50, days=7), _c("orders_last_days", ">=", 2, days=90), match="any"),
    _all(_c("orders_last_days", "=", 0, days=365), _c("city", "is_empty")),
    _all(_c("bought_category", "any_of", ["books", "TOYS"]), _c("total_spend", ">", 50)),
    _all(_c("bought_product", "none_of", ["sku-3", "SKU-7", "no-such-sku"]), _c("country", "is", "us"), match="any"),
    _all(_c("bought_category", "any_of", ["Électronique"]), _c("spend_last_days", ">=", 0, days=2), negate=True),
    _all(_c("attr:vip", "is_true"), _c("signup_date", "after", "2023-06-01"), _c("email", "ends_with", ".com")),
]


@pytest.fixture
def world_store(tmp_path: Path) -> Store:
    """The seeded segments world with its facts built."""
    store, world = open_world(tmp_path / "facts.duckdb")
    store.write(lambda cur: cur.execute(  # the world's rows have fixed ids: move the sequences past them
        "SELECT max(nextval('customer_ids')), max(nextval('order_ids')) FROM range(?)", [len(world.orders) + 1]))
    facts.rebuild(store)
    yield store
    store.close()


def _ids(store: Store, compiled) -> set[int]:
    return {r[0] for r in store.rows(compiled.select("c.id"), compiled.params)}


def assert_same_answers(store: Store, as_of: date = LATEST_AS_OF) -> None:
    """Every rule selects the same customers through the facts as through the live tables; preview agrees too."""
    catalog = load_catalog(store)
    assert catalog.facts is not None
    for rule in RULES:
        if "vip" not in catalog.attributes and "attr:vip" in str(rule):
            continue  # the demo data has no custom attributes
        tree = parse_rules(rule, catalog)
        through_facts, live = compile_rule(tree, catalog, as_of), compile_rule(tree, catalog.without_facts(), as_of)
        assert through_facts.table == "customer_facts" and live.table == "customers"
        assert _ids(store, through_facts) == _ids(store, live), rule
    tree = parse_rules(RULES[2], catalog)
    shown, direct = preview(store, tree, as_of, catalog), preview(store, tree, as_of, catalog.without_facts())
    assert (shown.count, shown.total) == (direct.count, direct.total)
    assert shown.sample.equals(direct.sample)
    assert shown.sql == direct.sql and "customer_facts" not in shown.sql  # people read and copy the live tables' SQL
    assert len(store.rows(shown.portable_sql)) == shown.count


def test_a_new_workspace_has_versions_and_out_of_date_facts(store: Store):
    catalog = load_catalog(store)
    assert catalog.facts is None  # never built: the live tables answer
    state = facts.rebuild(store)
    assert load_catalog(store).facts == state
    assert state.customers == 0 and state.bits == frozenset({"category", "product_id"})


def test_facts_give_the_live_answers_for_every_kind_of_field(world_store: Store):
    assert_same_answers(world_store)
    catalog = load_catalog(world_store)
    tree = parse_rules(RULES[6], catalog)
    assert waterfall(world_store, tree, LATEST_AS_OF, catalog) == waterfall(
        world_store, tree, LATEST_AS_OF, catalog.without_facts())
    for cid in (1, 7, 42, 150):
        assert explain(world_store, tree, cid, LATEST_AS_OF, catalog) == explain(
            world_store, tree, cid, LATEST_AS_OF, catalog.without_facts())


def test_the_sample_frame_is_the_frame_duckdb_gives(world_store: Store):
    catalog = load_catalog(world_store)
    ids = [1, 2, 3, 5, 8, 13, 21, 34]
    for as_of, chosen in ((LATEST_AS_OF, catalog), (LATEST_AS_OF, catalog.without_facts()), (AS_OF, catalog)):
        compiler = Compiler(chosen, as_of)
        compiler.use_stats()
        compiler.params["ids"] = ids
        compiled = compiler.finish("c.id IN (SELECT unnest($ids::BIGINT[]))")
        direct = world_store.frame(compiled.select(compiler.stats_sql(SAMPLE_COLUMNS), "ORDER BY c.id"),
                                   compiled.params)
        shown = sample_frame(world_store, chosen, as_of, ids)
        assert shown.schema == direct.schema and shown.equals(direct) and shown.height == len(ids)
    assert sample_frame(world_store, catalog, LATEST_AS_OF, []).schema == direct.schema


def test_short_windows_read_the_recent_days_and_long_ones_all_days(world_store: Store):
    catalog = load_catalog(world_store)
    short = compile_rule(parse_rules(RULES[5], catalog), catalog, LATEST_AS_OF).select()  # 30 days
    long = compile_rule(parse_rules(RULES[7], catalog), catalog, LATEST_AS_OF).select()  # 365 days
    assert "FROM customer_recent_days" in short and "FROM customer_days" not in short
    assert "FROM customer_days" in long and "LIMIT" in long
    assert catalog.facts.recent_from == world_store.scalar("SELECT max(day) FROM customer_days") - timedelta(days=92)


def test_a_historical_as_of_date_reads_the_live_tables(world_store: Store):
    catalog = load_catalog(world_store)
    assert catalog.facts is not None and catalog.latest_order.date() > AS_OF
    compiled = compile_rule(parse_rules(RULES[5], catalog), catalog, AS_OF)  # orders after AS_OF exist
    assert compiled.table == "customers" and "customer_days" not in compiled.select()


def test_more_values_than_bits_use_the_pairs_table(world_store: Store, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(facts, "MAX_BITS", 3)  # the world has 4 categories and 15 products (lower-cased)
    state = facts.rebuild(world_store)
    assert state.bits == frozenset()
    assert world_store.scalar("SELECT count(*) FROM customer_items") > 0
    compiled = compile_rule(parse_rules(RULES[8], load_catalog(world_store)), load_catalog(world_store), LATEST_AS_OF)
    assert "customer_items" in compiled.select()
    assert_same_answers(world_store)


# -- every writer leaves the facts out of use until they are rebuilt ---------------------------------------
ORDERS_CSV = ("order id,customer id,order date,amount,status\n"
              f"N-1,C-0002,{DAY},75.00,paid\nN-2,C-0003,{DAY},20,returned\n")
ITEMS_CSV = "order_id,line,product,category,qty,unit price\nN-1,1,SKU-99,Garden & Outdoor,1,75\n"
CUSTOMERS_CSV = "id,email,name,state\nC-0002,new2@example.com,Renamed Two,CA\nC-9001,c9001@example.com,Newcomer,NY\n"
TX_CSV = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
          f"T1,SKU-1,Thing,2,{DAY:%m/%d/%Y} 10:00,12.50,C-0004,US\n")


def _import(kind: str, content: str):
    def write_it(store: Store, tmp_path: Path) -> None:
        run(store, tmp_path, kind, write(tmp_path, f"{kind}.csv", content))
    return write_it


def _undo(store: Store, tmp_path: Path) -> None:
    summary = run(store, tmp_path, "orders", write(tmp_path, "undo_me.csv", ORDERS_CSV))
    facts.rebuild(store)
    history.undo_import(store, summary.import_id)


def _new_order(store: Store, _tmp: Path) -> None:
    create_order(store, OrderInput(customer_id=5, ordered_at=DAY.isoformat(), amount="80", status="paid",
                                   items=[{"product_id": "SKU-2", "category": "Books", "quantity": 1,
                                           "unit_price": "80"}]))


def _migration(store: Store, _tmp: Path) -> None:
    store.migrate(MIGRATIONS + (Migration(MIGRATIONS[-1].version + 1, "a later step", (
        "UPDATE customers SET state = 'TX' WHERE id % 5 = 0",)),))


DATA_WRITES = {
    "create customer": lambda s, _: create_customer(s, CustomerInput(name="Zoe Smith", state="CA", country="US")),
    "update customer": lambda s, _: update_customer(s, 3, CustomerInput(name="Ann Smith", state="CA", country="US")),
    "delete customer": lambda s, _: delete_customer(s, 10),
    "create order with items": _new_order,
    "update order": lambda s, _: update_order(s, 1, OrderInput(customer_id=7, ordered_at=DAY.isoformat(),
                                                               amount="999", status="cancelled")),
    "delete order": lambda s, _: delete_order(s, 2),
    "import customers": _import("customers", CUSTOMERS_CSV),
    "import orders": _import("orders", ORDERS_CSV),
    "import items": lambda s, t: (_import("orders", ORDERS_CSV)(s, t), facts.rebuild(s),
                                  _import("items", ITEMS_CSV)(s, t)),
    "import transactions": _import("transactions", TX_CSV),
    "undo an import": _undo,
    "reload demo data": lambda s, _: demo.load_demo(s, 50, 400, anchor=datetime.combine(LATEST_AS_OF, time())),
    "any other write": lambda s, _: s.write(lambda cur: (cur.execute("UPDATE orders SET status = 'returned' "
                                                                     "WHERE id % 7 = 0"), stats.rebuild_all(cur))),
    "a migration": _migration,
}


@pytest.mark.parametrize("writer", DATA_WRITES, ids=str)
def test_every_data_write_puts_the_facts_out_of_use_until_rebuilt(world_store: Store, tmp_path: Path, writer: str):
    before = load_catalog(world_store).facts
    assert before is not None
    DATA_WRITES[writer](world_store, tmp_path)
    assert load_catalog(world_store).facts is None  # out of date: the live tables answer meanwhile
    assert facts.rebuild(world_store).version > before.version
    assert_same_answers(world_store)


HEADERS = ["order id", "customer id", "order date", "amount", "status"]
NON_DATA_WRITES = {
    "save a segment": lambda s: save_segment(s, "Fresh", _all(_c("total_spend", ">", 5))),
    "delete a segment": lambda s: delete_segment(s, save_segment(s, "Short-lived", _all(_c("state", "is", "CA")))),
    "measure segment sizes": lambda s: measure_segments(s),
    "save a mapping": lambda s: save_mapping(s, "orders", HEADERS, suggest_mapping("orders", HEADERS)),
}


@pytest.mark.parametrize("writer", NON_DATA_WRITES, ids=str)
def test_writes_that_change_no_data_keep_the_facts_in_use(world_store: Store, writer: str):
    before = load_catalog(world_store)
    NON_DATA_WRITES[writer](world_store)
    after = load_catalog(world_store)
    assert after.facts == before.facts is not None
    assert_same_answers(world_store)


def test_a_write_during_a_rebuild_leaves_the_rebuilt_facts_out_of_use(world_store: Store):
    with world_store.cursor() as cur:
        cur.begin()
        facts._build(cur, "racing")  # reads the data as it is now...
        update_customer(world_store, 4, CustomerInput(name="Changed Meanwhile", state="TX"))  # ...a write commits
        cur.commit()
    assert world_store.scalar("SELECT token FROM facts_state") == "racing"
    assert load_catalog(world_store).facts is None  # stamped with the version it read, no longer current
    facts.refresh(world_store)
    assert_same_answers(world_store)


def test_the_catalog_is_reused_until_a_write(world_store: Store):
    first, second = load_catalog(world_store), load_catalog(world_store)
    assert first.segments is second.segments and first.customers == 300
    new_id = save_segment(world_store, "Appears at once", _all(_c("total_spend", ">", 5)))
    assert new_id in load_catalog(world_store).segments
    create_customer(world_store, CustomerInput(name="One More"))
    assert load_catalog(world_store).customers == 301


def test_the_app_rebuilds_in_the_background_and_stops_on_close(tmp_path: Path):
    store, _ = open_world(tmp_path / "background.duckdb")
    facts.keep_fresh(store)  # what the app's Store does
    facts.wait(store, 60)
    assert load_catalog(store).facts is not None
    update_customer(store, 3, CustomerInput(name="Ann Smith", state="CA", country="US"))
    assert load_catalog(store).facts is None  # seen out of date: a rebuild starts in the background
    facts.wait(store, 60)
    assert load_catalog(store).facts is not None
    assert_same_answers(store)
    update_customer(store, 3, CustomerInput(name="Ann Smyth", state="CA", country="US"))
    load_catalog(store)
    store.close()  # stops (or waits for) the rebuild it started
    keeper = facts._KEEPERS.get(store)
    assert keeper is None or keeper.thread is None or not keeper.thread.is_alive()
