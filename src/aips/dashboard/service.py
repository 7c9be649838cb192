"""The dashboard's access to the store: sections and audiences, computed once and cached.

One :class:`DataService` per dashboard. It opens the workspace lazily, serialises every
backend call with a lock (callbacks run in parallel threads; a DuckDB connection serves one
query at a time), and caches results per (store, data version, model fingerprint, brand,
period, level): a section computed for one set of pickers is reused by every later callback
and page load. Loading new data into the store (a new ``loads`` row) changes the data
version, so the next request recomputes.

Audiences for the drill-down come from the brand's snapshot (a stage bar) or flows (a Sankey
link) at the report's level; their ids are hashed (SHA-256) unless asked otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pandas as pd

from aips.reporting.data import ReportData, assemble, brands, run_section
from aips.reporting.period import Period, data_range, resolve_period
from aips.reporting.sections import Context
from aips.store.connect import writer_waiting

MAX_CONTEXTS = 24
"""Picker combinations whose sections stay cached."""
MAX_PLANNERS = 8
"""Brands whose fitted planners stay cached."""
IDLE_CLOSE = 1.0
"""Seconds without a request after which the dashboard releases the store's file."""


def _reopenable(store: Any) -> bool:
    """True when ``store`` names a DuckDB file (which the service may close and reopen)."""
    import os

    if store is None:
        return True
    if isinstance(store, str | os.PathLike):
        text = str(store)
        from aips.store.spark import is_spark_url

        return text != ":memory:" and not is_spark_url(text)
    return False


def hash_ids(ids: pd.Series) -> pd.Series:
    """SHA-256 hex digests of ids (UTF-8), as audience exports write them.

    >>> hash_ids(pd.Series(["u1"])).iloc[0][:16]
    'bb82030dbc2bcaba'
    """
    return ids.astype(str).map(lambda v: hashlib.sha256(v.encode("utf-8")).hexdigest())


class DataService:
    """Cached sections and audiences of one store for the dashboard.

    On a DuckDB file the store is opened read-only for a burst of requests and closed
    again after ``idle`` seconds without one, or at once when a writer waits for the file
    (:func:`aips.store.connect.writer_waiting`): a daily ingest or ``series --update`` runs
    while the dashboard serves, and the next request (a new data version) shows its rows.
    Computed sections are kept per data version across bursts.
    """

    def __init__(self, store: Any = None, config: Any = None, workspace: Any = None, *,
                 idle: float = IDLE_CLOSE, spark: Any = None):
        self.store_arg = store
        self.spark = spark  # a Spark store's warehouse, database and settings (SparkOptions)
        self.config = config
        self.idle = idle
        self._ws = workspace
        self._own = workspace is None and _reopenable(store)
        self._model = None
        self._api = None
        self._version: tuple | None = None
        self._timer: threading.Timer | None = None
        self._depth = 0
        self.lock = threading.RLock()
        self._contexts: OrderedDict[tuple, tuple[Context, dict]] = OrderedDict()
        self._planners: OrderedDict[tuple, Any] = OrderedDict()
        self._latest_planner: dict[str, Any] = {}

    # --- the workspace -----------------------------------------------------------------------

    @property
    def ws(self):
        """The open workspace (opened read-only on a DuckDB file; closed again when idle)."""
        with self.lock:
            if self._ws is None:
                import aips

                self._ws = aips.open(self.store_arg, self._model or self.config, read_only=self._own,
                                     spark=self.spark)
                self._model = self._ws.model
                self._api = None
            if self._own and self._depth == 0:
                self._arm_timer()
            return self._ws

    @contextlib.contextmanager
    def _burst(self) -> Iterator[None]:
        """One request: the lock held, the store kept open until it ends; a writer waiting
        for the file is let in first (the store is closed and reopened after it)."""
        with self.lock:
            if self._depth == 0 and self._own and self._ws is not None and writer_waiting(self._ws.store.location):
                self.close()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._own and self._ws is not None:
                    self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.idle, self._close_idle)
        self._timer.daemon = True
        self._timer.start()

    def _close_idle(self) -> None:
        with self.lock:
            if self._timer is threading.current_thread():
                self.close()

    def close(self) -> None:
        """Release the store's file (a DuckDB file this service opened); reopened on the next request."""
        with self.lock:
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            self._timer = None
            if self._own and self._ws is not None:
                self._ws.close()
                self._ws = None
                self._api = None

    def _data_version(self) -> tuple:
        store = self.ws.store
        if not store.has("loads"):
            n = int(self.ws.events.count().to_pyarrow().as_py()) if store.has("events") else 0
            return ("events", n)
        loads = store.table("loads")
        row = loads.aggregate(n=loads.count(), last=loads.loaded_at.max()).to_pyarrow().to_pylist()[0]
        return (row["n"], str(row["last"]))

    def api(self):
        """The API workspace for the current data version (rebuilt when data was loaded or
        the store reopened; sections already computed for this version are kept)."""
        with self._burst():
            ws = self.ws
            if self._api is not None and self._own:
                return self._api  # the file was held since: the data cannot have changed
            version = self._data_version()
            if self._api is not None and version == self._version:
                return self._api
            if version != self._version:
                self._contexts.clear()
            self._api = ws.cached()
            self._version = version
            for key, (ctx, results) in list(self._contexts.items()):
                self._contexts[key] = (Context(self._api, ctx.brand, ctx.period, level=ctx.level,
                                               langs=ctx.langs), results)
            return self._api

    def key(self) -> tuple:
        model = self._model or self.ws.model
        fingerprint = hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:12]
        return (str(getattr(self.ws.store, "location", "")), self._version, fingerprint)

    # --- pickers ---------------------------------------------------------------------------------

    def brands(self) -> list[str]:
        with self._burst():
            return brands(self.api())

    def data_range(self):
        with self._burst():
            return data_range(self.api())

    def period(self, start: Any = None, end: Any = None) -> Period:
        with self._burst():
            return resolve_period(self.api(), start, end)

    # --- sections ---------------------------------------------------------------------------------

    def context(self, brand: str, start: Any, end: Any, level: str) -> tuple[Context, dict]:
        with self._burst():
            api = self.api()
            period = resolve_period(api, start, end)
            key = (*self.key(), brand, period.start, period.end, level)
            if key in self._contexts:
                self._contexts.move_to_end(key)
                return self._contexts[key]
            entry = (Context(api, brand, period, level=level, langs=("en", "zh")), {})
            self._contexts[key] = entry
            while len(self._contexts) > MAX_CONTEXTS:
                self._contexts.popitem(last=False)
            return entry

    def section(self, name: str, brand: str, start: Any, end: Any, level: str) -> tuple[Any, str | None]:
        """``(data, None)`` or ``(None, why it is missing)``; computed once per pickers."""
        with self._burst():
            ctx, results = self.context(brand, start, end, level)
            if name not in results:
                omitted: dict[str, str] = {}
                value = run_section(ctx, name, omitted)
                results[name] = (value, omitted.get(name))
            return results[name]

    def report_data(self, brand: str, start: Any = None, end: Any = None, level: str = "brand") -> ReportData:
        """Every section for these pickers as a :class:`~aips.reporting.data.ReportData`
        (cached sections are reused; the HTML report of the dashboard's state)."""
        with self._burst():
            ctx, results = self.context(brand, start, end, level)

            def run(c, name, omitted):
                value, why = self.section(name, brand, start, end, level)
                if why is not None:
                    omitted[name] = why
                return value

            return assemble(ctx, run=run)

    @staticmethod
    def _spus(api, brand: str) -> list[str]:
        ev = api.events
        ev = ev.filter((ev.brand == brand) & ev.spu.notnull())
        return [r["spu"] for r in ev.select("spu").distinct().to_pyarrow().to_pylist()]

    # --- the planner ---------------------------------------------------------------------------

    @property
    def model(self):
        """The store's model (read when the store was first opened)."""
        return self._model or self.ws.model

    def planner(self, brand: str, latest: bool = False):
        """The brand's fitted :class:`~aips.planner.plan.Planner`, cached per (store, data
        version, model, brand): fitted once (the backend reads its aggregates then), so a
        slider move only re-runs the forecast, which is arithmetic on the fitted curves.
        ``latest``: the brand's last fitted planner without asking the store whether data
        changed (a slider move: no backend query at all). Raises the planner's
        :class:`~aips.exceptions.AipsError` when it cannot run."""
        if latest and brand in self._latest_planner:
            return self._latest_planner[brand]
        with self._burst():
            api = self.api()
            key = (*self.key(), brand)
            if key not in self._planners:
                planner = api.planner(brand)
                planner.price("revenue")  # read now: the store may be closed when a slider asks
                self._planners[key] = planner
                while len(self._planners) > MAX_PLANNERS:
                    self._planners.popitem(last=False)
            self._planners.move_to_end(key)
            self._latest_planner[brand] = self._planners[key]
            return self._planners[key]

    # --- audiences ----------------------------------------------------------------------------------

    def audience(self, brand: str, start: Any, end: Any, level: str, selection: dict) -> pd.DataFrame:
        """The ids behind a clicked stage bar (``{"kind": "stage", "stage"}``) or Sankey link
        (``{"kind": "flow", "from", "to"}``): ``user_id`` (and ``spu`` at SPU level)."""
        with self._burst():
            api = self.api()
            period = resolve_period(api, start, end)
            entity = ["spu"] if level == "spu" else []
            if level == "brand":  # the crowd language (aips.crowd) speaks of brands
                t = api.crowd(_crowd_spec(brand, period, selection))
            elif selection.get("kind") == "flow":
                t = api.flows(period.t0, period.t1, level=level)
                mine = t.brand == brand if "brand" in t.columns else t.spu.isin(self._spus(api, brand))
                t = t.filter(mine & (t.from_stage == selection["from"]) & (t.to_stage == selection["to"]))
            else:
                t = api.snapshot(period.end, level=level)
                t = t.filter((t.brand == brand) & (t.stage == selection["stage"]))
            t = t.select("user_id", *entity).distinct().order_by("user_id", *entity)
            return t.to_pyarrow().to_pandas()


def _crowd_spec(brand: str, period, selection: dict) -> dict:
    """The crowd of a clicked stage bar or Sankey link, in the crowd language."""
    if selection.get("kind") == "flow":
        return {"brand": brand, "from": period.t0, "to": period.t1,
                "from_stage": selection["from"], "to_stage": selection["to"]}
    return {"brand": brand, "at": period.end, "stage": selection["stage"]}
