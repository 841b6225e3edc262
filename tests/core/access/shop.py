"""A small workspace holding one object of every kind a service action works on (built once per module, copied
for each test), its fingerprint (every table's row count and row hash), and the actors of each role."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from crm_core import backup, demo
from crm_core.campaigns import conversions, lifecycle
from crm_core.campaigns.editing import CampaignInput, create_campaign
from crm_core.ingest import runner
from crm_core.ingest.mapping import suggest_mapping
from crm_core.ingest.sniff import sniff_file
from crm_core.permissions import ADMIN, ANALYST, MARKETER, Actor
from crm_core.segments.saved import save_segment
from crm_core.store import Store, open_store

ACTORS = {role: Actor(f"{role[:3]}1", role.title(), (role,)) for role in (ADMIN, MARKETER, ANALYST)}
ACTORS[None] = None  # not logged in
EVERYONE = {"match": "all", "negate": False, "rules": []}
CUSTOMERS_CSV = "customer_id,name,email,country\nX-1,Ann Import,ann.import@example.com,France\n" \
                "X-2,Bob Import,bob.import@example.com,Spain\n"
NEW_CUSTOMERS_CSV = "customer_id,name,email\nN-1,Cy New,cy.new@example.com\nN-2,Di New,di.new@example.com\n"
# Bookkeeping every write moves (and the log a refusal writes to): left out of "nothing changed".
NOT_DATA = ("audit_log", "write_tokens")
VERSION_KEYS = ("write_version", "data_version")


@dataclass
class Shop:
    """Ids of the objects in the template workspace, and files the cases use."""

    everyone: int = 0
    spare: int = 0
    customer: int = 0
    order: int = 0
    draft: int = 0
    scheduled: int = 0
    running: int = 0
    paused: int = 0
    simulated: int = 0
    imported: int = 0
    backup_zip: Path | None = None
    new_csv: Path | None = None
    work: Path | None = None


def _campaign(store: Store, name: str, segment_id: int, **vendor) -> int:
    data = CampaignInput(name=name, segment_id=segment_id, channel="email", subject="Hello {{ first_name }}",
                         template='Hi {{ first_name | default("there") }}!', throttle_per_second=0, vendor=vendor)
    return create_campaign(store, data, user="setup")


def sniffed(path: Path, work: Path):
    """A file sniffed as the import page would (scratch files under `work`)."""
    work.mkdir(exist_ok=True)
    return sniff_file(path, path.name, work)


def build(folder: Path) -> tuple[Path, Shop]:
    """Write the template workspace under `folder`; returns its file and the ids in it."""
    path, shop = folder / "template.duckdb", Shop()
    store = open_store(path)
    demo.load_demo(store, 60, 400)
    shop.everyone = save_segment(store, "Everyone", EVERYONE)
    shop.spare = save_segment(store, "Spare", {"match": "all", "negate": False,
                                                "rules": [{"field": "total_spend", "op": ">", "value": 100}]})
    shop.customer = int(store.scalar("SELECT min(id) FROM customers"))
    shop.order = int(store.scalar("SELECT min(id) FROM orders"))
    shop.draft = _campaign(store, "Draft", shop.everyone)
    shop.scheduled = _campaign(store, "Scheduled", shop.everyone)
    lifecycle.schedule_campaign(store, shop.scheduled, datetime.now() + timedelta(days=3))
    shop.running = _campaign(store, "Running", shop.everyone)
    lifecycle.launch_campaign(store, shop.running)
    shop.paused = _campaign(store, "Paused", shop.everyone)
    lifecycle.launch_campaign(store, shop.paused)
    lifecycle.transition(store, shop.paused, "pause")
    shop.simulated = _campaign(store, "Simulated", shop.everyone, simulate_conversions=True,
                               holdout_conversion_rate=0.5)
    lifecycle.launch_campaign(store, shop.simulated)
    assert conversions.simulate_conversions(store, shop.simulated) > 0
    csv = folder / "customers.csv"
    csv.write_text(CUSTOMERS_CSV)
    source = sniffed(csv, folder / "work")
    shop.imported = runner.commit(store, "customers", source, suggest_mapping("customers", source.headers),
                                  user="setup").import_id
    shop.backup_zip = backup.backup(store, folder / "template-backup.zip").path
    shop.new_csv = folder / "new-customers.csv"
    shop.new_csv.write_text(NEW_CUSTOMERS_CSV)
    store.close()
    return path, shop


def copy_of(template: Path, folder: Path) -> Store:
    """A fresh copy of the template workspace, opened."""
    target = folder / "crm.duckdb"
    shutil.copy(template, target)
    return open_store(target)


def fingerprint(store: Store, tables: tuple[str, ...] | None = None) -> dict[str, tuple]:
    """Every table's (row count, sum of row hashes): equal fingerprints mean equal contents."""
    names = [r[0] for r in store.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                      "AND table_type = 'BASE TABLE' ORDER BY 1")]
    found = {}
    for name in names:
        if name in NOT_DATA or (tables is not None and name not in tables):
            continue
        where = f" WHERE key NOT IN {VERSION_KEYS}" if name == "workspace_meta" else ""
        found[name] = tuple(store.rows(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{name}" t{where}')[0])
    return found


def audit_rows(store: Store) -> list[dict]:
    """The audit log, oldest first, as dicts."""
    return store.frame("SELECT * FROM audit_log ORDER BY id").to_dicts()
