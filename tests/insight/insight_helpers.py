"""Helpers for the insight tests: tiny canonical tables, a workspace with the insight
methods, and a simulated world loaded straight into a store.

The simulated world (:data:`WORLD`) keeps the simulator's mechanism but makes the effects
the tests check large enough to be seen in a few thousand users:

* one category with two brands;
* every channel uses the same format mix and many notes per campaign, so a note's format
  says little about its channel, campaign, creator or flight dates;
* formats' multipliers differ a lot and rank differently at each advance; creators' seeding
  multipliers are spread wide, and there are few creators, each reaching many users;
* the baseline hazards are low, so exposures drive most advances;
* users do not search while at I: in the default world they do (0.04 a day), and the default
  TI rule ``search >= 1 and read >= 1`` (30-day window) then puts many latent-I users at TI,
  so the observed I->TI advance is mostly that rule firing rather than the simulated advance.

In the default world formats differ by 10-30 % per advance and are tied to channels and to
a few notes each (live notes are KOL notes only), which no observational method separates
in a world of a few thousand users.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.dataset as pds
from engine_helpers import D, events_table  # noqa: F401 - one copy, shared with the engine tests

from aips.config.model import default_model
from aips.simulate import SimulationParams
from aips.store.tables import arrow_schema
from aips.workspace import Workspace

WS = Workspace
"""The workspace class the tests build (it has every method)."""


def workspace(store, model=None) -> Workspace:
    if isinstance(store, Workspace):
        return store
    return WS(store, model or default_model())


def users_table(rows: dict[str, dict[str, str]]) -> pa.Table:
    """A ``users`` table from ``{user_id: {attribute: value}}`` (holdout false)."""
    names = sorted({k for attrs in rows.values() for k in attrs})
    data = {"user_id": list(rows), "holdout": [False] * len(rows)}
    for n in names:
        data[n] = [rows[u].get(n) for u in rows]
    return pa.table(data)


# --- the simulated world ------------------------------------------------------------------


def _world_params() -> SimulationParams:
    base = SimulationParams()
    lipstick = next(c for c in base.categories if c.name == "lipstick")
    mix = {"image": 1 / 3, "video": 1 / 3, "live": 1 / 3}
    channels = {}
    for name, ch in base.channels.items():
        creators = name in ("kol_note", "koc_note")
        channels[name] = dataclasses.replace(ch, formats=mix, notes_per_campaign=6 if creators else 12)
    for name in ("kol_note", "koc_note"):
        channels[name] = dataclasses.replace(channels[name], intensity=0.12, flights_per_90_days=2.0,
                                             creators_per_campaign=(3, 5))
    return base.replace(
        users=2500, days=90, seed=8, categories=(lipstick,), brands_per_category=2,
        channels=channels,
        format_effects={
            "image": (0.3, 1.0, 3.0, 1.0),
            "video": (3.0, 0.3, 1.0, 1.0),
            "live": (1.0, 3.0, 0.3, 1.0),
        },
        base_hazard=(0.05, 0.06, 0.08, 0.05),
        search_rate=(0.0, 0.2),
        kol_count=6, koc_count=10, creator_seeding_sigma=1.0,
        leaks=(),
    )


WORLD = _world_params()
"""The insight tests' world (see the module docstring); its skew is the default: Velvetta's
I->TI is 3x easier for F / 18-24 / tier1 users."""


def load_world(store, path: str | Path) -> None:
    """Load a simulated world's events and users into a store (canonical schema, local dates
    in Asia/Shanghai), without the ingest machinery: fast and independent of it."""
    path = Path(path)
    data = pds.dataset(path / "events", format="parquet", partitioning="hive").to_table()
    ts = data["ts"]
    local = pc.local_timestamp(ts.cast(pa.timestamp("us", tz="Asia/Shanghai")))
    schema = arrow_schema("events")
    cols = {}
    for f in schema:
        if f.name == "ts":
            cols[f.name] = ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        elif f.name == "local_date":
            cols[f.name] = local.cast(pa.date32())
        elif f.name in data.column_names:
            cols[f.name] = data[f.name].cast(f.type)
        else:
            cols[f.name] = pa.nulls(data.num_rows, f.type)
    store.write("events", pa.table(cols, schema=schema), overwrite=True)
    users = pcsv.read_csv(path / "users.csv")
    users = pa.table({n: users[n].cast(pa.bool_() if n == "holdout" else pa.string()) for n in users.column_names})
    store.write("users", users, overwrite=True)
