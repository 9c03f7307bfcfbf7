"""The demo generator: simulate the business day by day and write the landing zone.

Everything before the day loop is drawn up front (stores, catalog and its changes, customers and
their sign-ups, marketing, the fault plan); the loop then runs one day at a time, vectorised
within the day: deliveries, sales against stock, returns, replenishment, web sessions, files.
Each concern draws from its own random stream, so the output is a function of the config only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.demo.calendar import Calendar, build_calendar
from datatrendz_pipelines.demo.catalog import (
    DISCONTINUE,
    Catalog,
    Stores,
    build_catalog,
    build_stores,
)
from datatrendz_pipelines.demo.config import GeneratorConfig
from datatrendz_pipelines.demo.daybook import REVENUE_DROP_FACTOR, DayBook, World
from datatrendz_pipelines.demo.demand import build_demand
from datatrendz_pipelines.demo.faults import plan_faults
from datatrendz_pipelines.demo.inventory import Inventory
from datatrendz_pipelines.demo.manifest import MANIFEST_NAME, Event, Manifest, load_manifest
from datatrendz_pipelines.demo.people import build_customers
from datatrendz_pipelines.demo.writer import FileWriter

HELD_BACK = "held_back"
# One independent random stream per concern: changing one part of the model leaves the others'
# draws (and files) as they were.
_STREAMS = ("stores", "catalog", "customers", "plan", "inventory", "sales", "returns", "sessions", "faults")  # fmt: skip

__all__ = ["HELD_BACK", "deliver_held_back", "generate", "load_manifest"]


def generate(
    config: GeneratorConfig,
    landing_dir: Path,
    demo_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Write the demo dataset for `config` into `landing_dir`, held-back files and the manifest
    into `demo_dir`; return the manifest. Files written by an earlier run (per its manifest)
    are removed first, so a re-run leaves exactly this config's files."""
    say = progress or (lambda _msg: None)
    landing_dir, demo_dir = Path(landing_dir), Path(demo_dir)
    _remove_previous(landing_dir, demo_dir)
    seeds = np.random.SeedSequence(config.seed).spawn(len(_STREAMS))
    rng = {name: np.random.default_rng(seed) for name, seed in zip(_STREAMS, seeds, strict=True)}
    scale = config.size
    say(f"planning {config.days} days from {config.start} at scale {config.scale!r}")
    calendar = build_calendar(config.start, config.days)
    stores = build_stores(scale, config.start, config.days, rng["stores"])
    catalog = build_catalog(scale, config.start, config.days, rng["catalog"])
    ratio = config.target_lines / (scale.lines_per_day * config.days)
    n_base = max(50, int(scale.customers * float(np.clip(ratio, 0.25, 10.0))))
    customers, marketing = build_customers(n_base, calendar, stores.region, rng["customers"])
    plan = plan_faults(
        config.fault_rate, config.anomalies, calendar, stores.open_day, stores.online, rng["plan"]
    )
    store_factor = (
        {plan.revenue_drop[0]: (plan.revenue_drop[1], REVENUE_DROP_FACTOR)}
        if plan.revenue_drop
        else {}
    )
    model = build_demand(config.target_lines, calendar, stores, store_factor)
    inventory = Inventory(stores, catalog, scale.assortment, config.days, rng["inventory"])
    say(
        f"{stores.count - 1} shops + web shop, {catalog.count} products, {customers.count:,} customers, "
        f"{inventory.size:,} stocked locations"
    )

    manifest = Manifest(config, str(landing_dir))
    writer = FileWriter(config.file_format)
    world = World(
        config, load_contracts(), calendar, stores, catalog, customers, marketing, plan, model
    )
    book = DayBook(world, inventory, writer, manifest, landing_dir, demo_dir / HELD_BACK, rng)
    every = max(1, config.days // 20)
    try:
        for day in range(config.days):
            book.run_day(day)
            if (day + 1) % every == 0 or day + 1 == config.days:
                say(
                    f"day {day + 1}/{config.days} ({calendar.dates[day]}): "
                    f"{manifest.total_rows('order_lines'):,} order lines so far"
                )
    finally:
        writer.close()
    manifest.events = _events(calendar, stores, catalog, inventory)
    manifest.save(demo_dir)
    say(
        f"wrote {sum(len(f) for f in manifest.files.values()):,} files; manifest {demo_dir / MANIFEST_NAME}"
    )
    return manifest


def deliver_held_back(demo_dir: Path, landing_dir: Path) -> list[Path]:
    """Move held-back (late) files into their day folder of the landing zone; return new paths."""
    root = Path(demo_dir) / HELD_BACK
    moved = []
    for path in sorted(root.glob("*/date=*/*")) if root.exists() else []:
        target = Path(landing_dir) / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved.append(target)
    return moved


def _remove_previous(landing_dir: Path, demo_dir: Path) -> None:
    """Delete what an earlier generation wrote (only files its manifest lists)."""
    if not (demo_dir / MANIFEST_NAME).exists():
        return
    old = load_manifest(demo_dir)
    if Path(old.landing_dir) == landing_dir:  # never reach into another landing zone
        for entries in old.files.values():
            for entry in entries:
                (landing_dir / entry.path).unlink(missing_ok=True)
    shutil.rmtree(demo_dir / HELD_BACK, ignore_errors=True)
    (demo_dir / MANIFEST_NAME).unlink()


def _events(
    calendar: Calendar, stores: Stores, catalog: Catalog, inventory: Inventory
) -> list[Event]:
    """Genuine business events a KPI monitor should not mistake for faults."""
    iso = [d.isoformat() for d in calendar.dates]
    events = [
        Event("holiday", iso[d], iso[d], {"name": name})
        for d, name in sorted(calendar.holidays.items())
    ]
    events += [
        Event(
            "promotion",
            p.start.isoformat(),
            p.end.isoformat(),
            {"code": p.code, "discount": p.discount},
        )
        for p in calendar.promotions
    ]
    events += [
        Event(
            "supply_disruption",
            iso[d.start],
            iso[min(d.end, calendar.days) - 1],
            {"brand": d.brand, "products": len(d.products)},
        )
        for d in inventory.disruptions
    ]
    events += [
        Event("store_opening", iso[int(o)], iso[int(o)], {"store_id": stores.ids[i].as_py()})
        for i, o in enumerate(stores.open_day)
        if 0 < o < calendar.days
    ]
    in_period = (catalog.launch_day > 0) & (catalog.launch_day < calendar.days)
    gone = catalog.event_day[catalog.event_kind == DISCONTINUE]
    for kind, days in (
        ("product_launch", catalog.launch_day[in_period]),
        ("product_discontinued", gone),
    ):
        values, counts = np.unique(days, return_counts=True)
        events += [
            Event(kind, iso[d], iso[d], {"products": int(c)})
            for d, c in zip(values, counts, strict=True)
        ]
    return events
