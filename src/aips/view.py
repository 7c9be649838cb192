"""The store as the model reads it: what every analytic layer receives.

A :class:`View` binds a :class:`~aips.store.connect.Store` to a
:class:`~aips.config.model.Model` and answers the questions every layer above the engine
asks: the canonical tables (``events`` and the optional side tables), the engine's input
(the stored ``counters_daily`` rollup when it is current, else ``events``), and the stage
engine's snapshots and timelines over it. It never writes.

``View(store, model, cache=True)`` materialises each timeline and snapshot once
(:func:`aips.store.cache.cached`); the report builds one so that its sections share them.

Functions of ``analytics/``, ``activation/``, ``insight/`` and ``reporting/`` take a view as
their first argument; :class:`~aips.workspace.Workspace` holds one (``ws.view``).

>>> import aips
>>> view = View(aips.open(":memory:").store, aips.default_model())
>>> view.optional("users") is None, view.model.level
(True, 'brand')
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Any

import ibis

from aips.config.model import NO_CATEGORY, Model
from aips.dates import as_date
from aips.engine.packing import Bounds, bounds_query
from aips.engine.stages import resolve_level
from aips.exceptions import AipsError, ConfigError
from aips.store.cache import cached
from aips.store.connect import Store


class View:
    """Read access to a store through a model (see the module docstring).

    Args:
        store: the store.
        model: the AIPS model that interprets it.
        cache: materialise timelines and snapshots once each (for the report).
    """

    def __init__(self, store: Store, model: Model, cache: bool = False):
        self.store = store
        self.model = model
        self.cache = cache
        self._memo: dict[tuple, ibis.Table] = {}
        self._bounds: dict[tuple, Bounds | None] = {}

    def __repr__(self) -> str:
        return f"View({self.store!r}, cache={self.cache})"

    def cached(self) -> View:
        """A caching view on the same store and model (``self`` when it caches already)."""
        return self if self.cache else View(self.store, self.model, cache=True)

    # --- tables -------------------------------------------------------------------------

    @property
    def events(self) -> ibis.Table:
        """The canonical ``events`` table."""
        return self.store.table("events")

    def events_between(self, first: Any, last: Any) -> ibis.Table:
        """The events with a local date in ``[first, last]``; on a Parquet source only the
        files holding those days are read (:func:`aips.maintain.state.events_between`)."""
        from aips.maintain.state import events_between

        return events_between(self.store, self.events, as_date(first, "first"), as_date(last, "last"))

    def audience_events(self, at: Any) -> ibis.Table:
        """The events of the audience window ending ``at``: what a brand's main category and
        the category audience read (:mod:`aips.engine.penetration`, which filters them again)."""
        from aips.engine.penetration import audience_window_days

        at = as_date(at, "at")
        return self.events_between(at - dt.timedelta(days=audience_window_days(self.model) - 1), at)

    def table(self, name: str) -> ibis.Table:
        """A table of the store (a clear error when it is missing)."""
        return self.store.table(name)

    def optional(self, name: str) -> ibis.Table | None:
        """A side table (``users``, ``campaigns``, ``categories``, ``creators``) or None."""
        return self.store.table(name) if self.store.has(name) else None

    @property
    def categories(self) -> ibis.Table | None:
        """The store's ``categories`` table (decision cycles per category), or None."""
        return self.optional("categories")

    def require_brands(self, brands: Sequence[str]) -> None:
        """A :class:`~aips.exceptions.ConfigError` when none of ``brands`` has events, naming
        them and the closest brands of the store (a brand filter that matches nothing)."""
        ev = self.events
        if ev.filter(ev.brand.isin(list(brands))).select("brand").limit(1).to_pyarrow().num_rows:
            return
        known = [b for b in ev.select("brand").distinct().to_pyarrow().column(0).to_pylist() if b]
        closest = dict.fromkeys(c for b in brands for c in difflib.get_close_matches(b, known, 3, 0))
        names = ", ".join(repr(b) for b in brands)
        raise ConfigError(f"no events of brand {names} in the store "
                          f"(closest brands: {', '.join(closest) or 'none, the store has no events'})")

    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """The first and last local date with events (None when the store has none); for a
        Parquet source, the dates its files held when registered (no scan of every file)."""
        from aips.maintain.state import sourced_date_range

        sourced = sourced_date_range(self.store)
        if sourced is not None:
            return sourced
        ev = self.events
        row = ev.aggregate(lo=ev.local_date.min(), hi=ev.local_date.max()).to_pyarrow().to_pylist()[0]
        return None if row["lo"] is None else (row["lo"], row["hi"])

    def require_dates(self, *days: Any, start: Any = None, end: Any = None,
                      names: tuple[str, str] = ("from", "to")) -> None:
        """A :class:`~aips.exceptions.ConfigError` when a day (``at``) lies outside the data's
        date range, when ``start`` is after ``end``, or when ``start..end`` holds no data day;
        the message names the data's range (``names``: how to call ``start`` and ``end`` in it)."""
        named = [(as_date(d, "at"), "at") for d in days if d is not None]
        lo_hi = [as_date(d, n) if d is not None else None for d, n in zip((start, end), names, strict=True)]
        if lo_hi[0] and lo_hi[1] and lo_hi[0] > lo_hi[1]:
            raise ConfigError(f"--{names[0]} {lo_hi[0]} is after --{names[1]} {lo_hi[1]} "
                              "(give the earlier day first)")
        if not named and not any(lo_hi):
            return
        rng = self.date_range()
        if rng is None:
            raise AipsError("the store has no events yet (load data first: aips ingest FILE)")
        first, last = rng
        where = f"the data runs from {first} to {last}"
        for day, name in named:
            if not first <= day <= last:
                raise ConfigError(f"no events on {day} ({name}): {where}")
        lo, hi = lo_hi
        if (lo or first) > last or (hi or last) < first:
            raise ConfigError(f"no events between {lo or '...'} and {hi or '...'}: {where}")

    def known(self, column: str) -> list:
        """The distinct values of an ``events`` column (an aggregate; nulls as None)."""
        ev = self.events
        return ev.select(column).distinct().to_pyarrow().column(0).to_pylist()

    def require_category(self, category: str | None) -> None:
        """A :class:`~aips.exceptions.ConfigError` when ``category`` has no events, naming the
        closest categories (``None`` or ``NO_CATEGORY`` is the null category)."""
        if category is None or category == NO_CATEGORY:
            if category is None:
                return
            ev = self.events
            if ev.filter(ev.category.isnull()).select("brand").limit(1).to_pyarrow().num_rows:
                return
            raise ConfigError(f"no events without a category in the store: name one with --category "
                              f"(categories: {', '.join(sorted(c for c in self.known('category') if c)) or 'none'})")
        ev = self.events
        if ev.filter(ev.category == category).select("brand").limit(1).to_pyarrow().num_rows:
            return
        values = self.known("category")
        known = [c for c in values if c] + ([NO_CATEGORY] if None in values else [])
        closest = difflib.get_close_matches(category, known, 3, 0)
        raise ConfigError(f"no events of category {category!r} in the store "
                          f"(closest categories: {', '.join(closest) or 'none, the store has no events'})")

    def require_spus(self, level: str | None) -> None:
        """A :class:`~aips.exceptions.ConfigError` when ``level`` is ``spu`` and no event has an SPU."""
        if resolve_level(self.model, level) != "spu":
            return
        ev = self.events
        if ev.filter(ev.spu.notnull()).select("spu").limit(1).to_pyarrow().num_rows:
            return
        raise ConfigError("--level spu: no event of the store has an SPU (the spu column is empty); "
                          "use --level brand")

    def require(self, *, at: Any = None, start: Any = None, end: Any = None,
                brands: Sequence[str] | str | None = None, category: str | None = None,
                level: str | None = None, names: tuple[str, str] = ("from", "to")) -> None:
        """Every check of a command's filters at once (each given filter must match data):
        :meth:`require_dates`, :meth:`require_brands`, :meth:`require_category`,
        :meth:`require_spus`."""
        self.require_dates(at, start=start, end=end, names=names)
        if brands:
            self.require_brands([brands] if isinstance(brands, str) else list(brands))
        self.require_category(category)
        self.require_spus(level)

    def summary(self, top: int = 5) -> dict[str, Any]:
        """What the store holds, from aggregates only: rows per table, the events' date range,
        brands and categories (counts and the ``top`` names by events), loads and quarantine
        counts by reason. A :class:`~aips.exceptions.StoreError` when the store has no events
        table (nothing was loaded: never an empty summary)."""
        self.store.table("events")  # the error naming the store when nothing was loaded
        tables = {name: self.store.table(name).count().to_pyarrow().as_py()
                  for name in sorted(self.store.backend.list_tables()) if not name.startswith("_")}
        out: dict[str, Any] = {"tables": tables, "date_range": None, "brands": None,
                               "categories": None, "loads": [], "quarantine": []}
        rng = self.date_range()
        out["date_range"] = [rng[0].isoformat(), rng[1].isoformat()] if rng else None
        ev = self.events
        for key, name in (("brands", ev.brand), ("categories", ev.category.fill_null(NO_CATEGORY))):
            counts = ev.group_by(name.name("name")).aggregate(events=ev.count())
            n = counts.count().to_pyarrow().as_py()
            topn = counts.order_by([ibis.desc("events"), "name"]).limit(top).to_pyarrow().to_pylist()
            out[key] = {"count": n, "top": topn}
        if "loads" in tables:
            lo = self.store.table("loads")
            out["loads"] = (lo.select("table_name", "source_file", "loaded_at", "rows_read", "loaded",
                                      "duplicates", "ignored", "quarantined", "min_date", "max_date")
                            .order_by("loaded_at").to_pyarrow().to_pylist())
        if "quarantine" in tables:
            q = self.store.table("quarantine")
            out["quarantine"] = (q.group_by(["table_name", "reason"]).aggregate(rows=q.count())
                                 .order_by([ibis.desc("rows"), "table_name", "reason"])
                                 .to_pyarrow().to_pylist())
        return out

    def last_day(self) -> dt.date:
        """The last local date with events (an error when the store has none)."""
        rng = self.date_range()
        if rng is None:
            raise AipsError("the store has no events yet (load data first: aips ingest FILE)")
        return rng[1]

    # --- the stage engine over the store --------------------------------------------------

    def engine_source(self) -> ibis.Table:
        """The stored ``counters_daily`` rollup when it is current (faster), else ``events``."""
        from aips.maintain.rollup import COUNTERS_TABLE, rollup_is_current

        if rollup_is_current(self.store, self.model):
            return self.store.table(COUNTERS_TABLE)
        return self.events

    def snapshot(self, at: Any, level: str | None = None, stored: bool = True) -> ibis.Table:
        """Each (user, entity) with its exclusive level on local date ``at``.

        At brand level read off the stored ``stage_timelines`` when they are current (a
        filter of the change points, the same rows: a pair's level on a day depends only on
        its own rows up to that day), else computed from :meth:`engine_source`; ``stored``
        False always computes it (a check of the stored table, and ``bench/scale.py``'s unit).
        At 1B events the computed one aggregates ~900M rollup rows into ~77M pairs and
        spills tens of GB; the stored read filters ~200M intervals.
        """
        from aips.engine.snapshot import snapshot
        from aips.engine.timelines import stage_at

        day = as_date(at, "at")
        if stored and resolve_level(self.model, level) == "brand":
            timelines = self.stored_timelines()
            if timelines is not None:
                return stage_at(timelines, day)
        return self._memoised(
            ("snapshot", day, level or self.model.level),
            lambda: snapshot(self.engine_source(), self.model, day, level=level,
                             categories=self.categories),
        )

    def assets(self, at: Any, level: str | None = None, cumulative: bool = False,
               stored: bool = True) -> ibis.Table:
        """Users per entity and stage on ``at`` (``cumulative``: at or above each stage); a
        ``ConfigError`` when ``at`` lies outside the data (:meth:`require_dates`).
        ``stored``: as in :meth:`snapshot`."""
        from aips.engine.snapshot import assets

        self.require_dates(at)
        level = resolve_level(self.model, level)
        return assets(self.snapshot(at, level=level, stored=stored), level, cumulative=cumulative)

    def seeded_crowd(self, at: Any, level: str | None = None) -> ibis.Table:
        """The seeded crowd (exclusive I plus TI) per entity: ``stage`` is ``I+TI``."""
        from aips.engine.stages import entity_keys, seeded_assets

        level = resolve_level(self.model, level)
        return seeded_assets(self.assets(at, level=level), entity_keys(level))

    def asset_series(
        self, start: Any, end: Any, freq: str = "day", level: str | None = None
    ) -> ibis.Table:
        """Users per entity x stage for each day (``week``: each ISO week's last day) of a range.

        Read from the stored ``asset_history`` when it covers the range and is current, else
        computed from the engine's input. A ``ConfigError`` when ``start`` is after ``end`` or
        the range holds no data day (:meth:`require_dates`).
        """
        from aips.engine.series import asset_series
        from aips.maintain.history import history_is_current, read_history

        start, end = as_date(start, "start"), as_date(end, "end")
        self.require_dates(start=start, end=end)
        if history_is_current(self.store, self.model, level):
            stored = read_history(self.store, self.model, start, end, freq, level=level)
            if stored is not None:
                return stored
        return asset_series(self.engine_source(), self.model, start, end, freq, level=level,
                            categories=self.categories)

    def stored_timelines(self) -> ibis.Table | None:
        """The store's brand-level ``stage_timelines`` when current (kept by
        ``aips series --update``: :mod:`aips.maintain.timelines`), else None."""
        from aips.maintain.timelines import stored_timelines

        return stored_timelines(self.store, self.model)

    def sweep_bounds(self, level: str | None = None) -> Bounds | None:
        """The :class:`~aips.engine.packing.Bounds` of the engine's input at ``level`` (one
        small aggregate, run once per view and level): with them a timeline build sums packed
        capped atoms, about half the cost of one sum per atom. Computed on the events they
        are upper bounds of their rollup's (every rollup key and day comes from an event),
        so they also bound any subset of the pairs. None for an empty input.

        >>> import aips
        >>> ws = aips.open(":memory:")
        >>> _ = ws.store.ensure("events")  # an empty log
        >>> ws.view.sweep_bounds() is None
        True
        """
        level = resolve_level(self.model, level)
        key = ("bounds", level)
        if key not in self._bounds:
            row = bounds_query(self.engine_source(), level, self.model, self.categories)
            self._bounds[key] = Bounds.of_row(row.to_pyarrow().to_pylist()[0])
        return self._bounds[key]

    def timelines(self, level: str | None = None) -> ibis.Table:
        """Per (user, entity) the maximal intervals of constant level (the stored ones when
        current, else built from the engine's input, with :meth:`sweep_bounds`)."""
        from aips.engine.timelines import timelines

        if resolve_level(self.model, level) == "brand":
            stored = self.stored_timelines()
            if stored is not None:
                return stored
        return self._memoised(
            ("timelines", level or self.model.level),
            lambda: timelines(self.engine_source(), self.model, level=level,
                              categories=self.categories, bounds=self.sweep_bounds(level),
                              islands=self.store.capabilities.sweep_islands),
        )

    def timelines_of(
        self, brand: str | None = None, category: str | None = None, users: ibis.Table | None = None
    ) -> ibis.Table:
        """Brand-level timelines of some pairs: one brand, one category, and/or some users.

        Built from the engine's input filtered first (never cached: each selection differs).
        ``category`` :data:`~aips.config.model.NO_CATEGORY` selects the events without one.
        """
        from aips.engine.durations import category_is
        from aips.engine.timelines import timelines

        stored = self.stored_timelines() if category is None else None
        if stored is not None:  # a pair's timeline depends on its own rows only
            if brand is not None:
                stored = stored.filter(stored.brand == brand)
            if users is not None:
                stored = stored.semi_join(users, stored.user_id == users.user_id)
            return stored
        source = self.engine_source()
        if brand is not None:
            source = source.filter(source.brand == brand)
        if category is not None:
            source = source.filter(category_is(source.category, category))
        if users is not None:
            source = source.semi_join(users, source.user_id == users.user_id)
        return timelines(source, self.model, level="brand", categories=self.categories,
                         bounds=self.sweep_bounds("brand"), islands=self.store.capabilities.sweep_islands)

    def _memoised(self, key: tuple, build) -> ibis.Table:
        if not self.cache:
            return build()
        if key not in self._memo:
            expr = build()
            try:
                expr = cached(expr)
            except Exception:  # noqa: BLE001 - a backend without caching still works, slower
                pass
            self._memo[key] = expr
        return self._memo[key]
