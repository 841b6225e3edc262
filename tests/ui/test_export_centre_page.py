"""Export centre page (every role) and Settings → Backup and restore (admins), through app.py."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from crm_core import backup, config
from crm_core.store import Store
from tests.core.exports import world
from tests.ui.conftest import logged_in_app, open_page, texts
from tests.ui.helpers import button, db, errors, page, toasts

EXPORTS, SETTINGS = "pages/exports.py", "pages/settings.py"


@pytest.fixture(autouse=True)
def exports_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("CRM_BACKUPS_DIR", str(tmp_path / "backups"))


def _count_line(at) -> str:
    return next(str(m.value) for m in at.markdown if "to export" in str(m.value))


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_every_role_exports_customers_with_a_filter(role):
    at = open_page(logged_in_app(role=role, username=f"u{role}"), EXPORTS)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Export centre"]
    store = db()
    assert _count_line(at) == f"**{store.scalar('SELECT count(*) FROM customers'):,} rows** to export"
    country = store.scalar("SELECT country FROM customers GROUP BY country ORDER BY count(*) DESC, country LIMIT 1")
    expected = [r[0] for r in store.rows("SELECT id FROM customers WHERE country = ? ORDER BY id", [country])]
    at.multiselect(key="xc-f-customers-None-country").set_value([country]).run()
    assert _count_line(at) == f"**{len(expected):,} rows** to export"
    at.radio(key="xc-format").set_value("parquet").run()
    button(at, "Export").click().run()
    assert not at.exception and not errors(at), errors(at)
    written = sorted((Path(config.exports_dir())).glob("customers-*.parquet"))
    assert len(written) == 1 and pl.read_parquet(written[0])["id"].to_list() == expected
    assert any(f"Exported {len(expected):,} rows" in str(s.value) for s in at.success)
    assert any(b.label.startswith("Download customers-") for b in at.get("download_button"))
    at.selectbox(key="xc-dataset").set_value("orders").run()  # another choice: the customers file is not offered
    assert not at.exception and not at.success and not at.get("download_button")


def test_orders_columns_and_status_to_xlsx():
    at = page(EXPORTS, role="analyst")
    at.selectbox(key="xc-dataset").set_value("orders").run()
    at.multiselect(key="xc-cols-orders-None").set_value(["id", "status", "amount"]).run()
    at.multiselect(key="xc-f-orders-None-status").set_value(["cancelled", "returned"]).run()
    expected = [r[0] for r in db().rows("SELECT id FROM orders WHERE status IN ('cancelled', 'returned') ORDER BY id")]
    assert _count_line(at) == f"**{len(expected):,} rows** to export"
    at.radio(key="xc-format").set_value("xlsx").run()
    button(at, "Export").click().run()
    assert not at.exception and not errors(at), errors(at)
    frame = pl.read_excel(next(Path(config.exports_dir()).glob("orders-*.xlsx")))
    assert frame.columns == ["id", "status", "amount"] and frame["id"].cast(pl.Int64).to_list() == expected


def test_a_dataset_that_needs_a_source_offers_it():
    at = page(EXPORTS)
    at.selectbox(key="xc-dataset").set_value("campaign-log").run()
    assert not at.exception
    assert "There is no campaign to export from yet." in [str(i.value) for i in at.info]
    at.selectbox(key="xc-dataset").set_value("segment-members").run()
    segments = db().rows("SELECT id, name FROM segments ORDER BY updated_at DESC, id DESC")
    picker = at.selectbox(key="xc-source-segment-members")
    assert picker.options == [name for _, name in segments] and not at.exception


def test_backup_and_restore_in_settings(tmp_path, monkeypatch):
    at = page(SETTINGS)
    assert "Backup and restore" in [str(s.value) for s in at.subheader]
    button(at, "Create backup").click().run()
    assert not at.exception and not errors(at), errors(at)
    made = next(Path(config.backups_dir()).glob("crm-backup-*.zip"))
    assert backup.read_manifest(made)["tables"]["customers"]["rows"] == db().scalar("SELECT count(*) FROM customers")
    # this workspace holds the demo: no upload until it is emptied, which needs the typed confirmation
    assert not at.get("file_uploader")
    assert any("cannot be restored into it yet" in str(w.value) for w in at.warning)
    assert button(at, "Empty this workspace").disabled
    at.text_input(key="bk-empty-confirm").input("EMPTY").run()
    button(at, "Empty this workspace").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert db().scalar("SELECT count(*) FROM customers") == 0 and db().scalar("SELECT count(*) FROM segments") == 0
    # now the backup made above comes back whole
    at.get("file_uploader")[0].set_value([(made.name, made.read_bytes(), "application/zip")])
    at.run()
    button(at, "Restore this backup").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert db().scalar("SELECT count(*) FROM customers") == backup.read_manifest(made)["tables"]["customers"]["rows"]


def test_restore_into_an_empty_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DEMO", "0")
    other = Store(tmp_path / "other.duckdb")
    world.build(other)
    zip_path = backup.backup(other, tmp_path / "world.zip").path
    expected = other.rows("SELECT * FROM customers ORDER BY id")
    other.close()
    at = page(SETTINGS)
    at.get("file_uploader")[0].set_value([("world.zip", zip_path.read_bytes(), "application/zip")])
    at.run()
    button(at, "Restore this backup").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert db().rows("SELECT * FROM customers ORDER BY id") == expected
    assert "Backup restored: 5 customers, 6 orders" in " ".join(toasts(at))
    assert "5 customers and 6 orders" in texts(at)


def test_analysts_do_not_get_backup_and_restore():
    from tests.ui.helpers import signed_in
    at = signed_in("analyst")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # Settings is not in their menu
        at.switch_page(SETTINGS)
