"""The workspace: a store bound to a model; the Python API's front door.

Every public method is a short call into the layer that owns the verb (see
``docs/architecture.md``); the workspace itself holds no analytics. It keeps a
:class:`~aips.view.View` (``ws.view``) that those functions receive.

>>> import aips
>>> ws = aips.open(":memory:")
>>> ws.model.timezone, ws.store.kind
('Asia/Shanghai', 'duckdb')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from aips.config.model import Model, default_model, load_model
from aips.store.connect import Store, connect
from aips.store.spark import SparkOptions
from aips.view import View

if TYPE_CHECKING:  # the analytics (pandas, scipy: ~0.9 s) are imported by the methods that use them
    import pandas as pd

    from aips.analytics.attribution import ChainData
    from aips.analytics.funnel import FunnelResult

DEFAULT_MODEL_FILE = "aips.yaml"


def resolve_model(config: Any = None) -> Model:
    """A :class:`Model` from a Model, a YAML path, or ``None`` (``./aips.yaml`` if present, else defaults)."""
    if isinstance(config, Model):
        return config
    if config is None:
        local = Path(DEFAULT_MODEL_FILE)
        return load_model(local) if local.is_file() else default_model()
    return load_model(config)


class Workspace:
    """A store and the model that interprets it.

    Build one with :func:`aips.open`. Analytic methods return unexecuted Ibis tables;
    call ``.to_pyarrow()``, ``.to_pandas()`` or ``.execute()`` to get results.

    Args:
        store: the store.
        model: the AIPS model.
        cache: materialise stage timelines and snapshots once each (the report's
            workspace, see :meth:`cached`).
    """

    def __init__(self, store: Store, model: Model, cache: bool = False):
        self.store = store
        self.model = model
        self.view = View(store, model, cache=cache)

    def __repr__(self) -> str:
        return f"Workspace({self.store!r}, level={self.model.level!r}, tz={self.model.timezone!r})"

    def cached(self) -> Workspace:
        """A new workspace on the same store and model whose timelines and snapshots are
        computed once each (a fresh cache: build another after loading data)."""
        return Workspace(self.store, self.model, cache=True)

    # --- store: tables and loading ------------------------------------------------------------

    @property
    def events(self) -> ibis.Table:
        """The canonical ``events`` table."""
        return self.view.events

    def ingest(self, *paths: str | Path, table: str = "events", **options: Any):
        """Load files into the store; see :func:`aips.ingest.load.ingest_files`.

        ``max_future`` and ``min_date`` default to the model's ``ingest:`` section.

        Returns an :class:`~aips.ingest.report.IngestReport`.
        """
        from aips.ingest.load import ingest_files

        for name in ("max_future", "min_date"):  # the model file's window, unless given
            options.setdefault(name, getattr(self.model.ingest, name))
        return ingest_files(self.store, self.model, paths, table=table, **options)

    def source(self, location: str, **options: Any):
        """Register a Parquet dataset or a catalog table as the store's ``events`` (a view,
        no copy); see :func:`aips.ingest.source.source_events`. ``max_future`` and
        ``min_date`` default to the model's ``ingest:`` section.

        Returns an :class:`~aips.ingest.report.IngestReport`.
        """
        from aips.ingest.source import source_events

        for name in ("max_future", "min_date"):
            options.setdefault(name, getattr(self.model.ingest, name))
        return source_events(self.store, self.model, location, **options)

    def info(self, top: int = 5) -> dict[str, Any]:
        """What the store holds (tables, rows, date range, brands, categories, loads,
        quarantine by reason): :meth:`aips.view.View.summary`; plus ``settings``, the
        DuckDB memory limit, threads and spill folder in force and where each came from."""
        info = self.view.summary(top=top)
        if self.store.settings is not None:
            from aips.store.settings import effective

            info["settings"] = effective(self.store.backend.con, self.store.settings)
        return info

    # --- stage engine (aips.view, aips.engine): unexecuted Ibis tables -------------------------

    def snapshot(self, at: Any, level: str | None = None, stored: bool = True) -> ibis.Table:
        """Each (user, entity) with its exclusive level on local date ``at``.

        Columns ``user_id``, ``brand`` (at SPU level ``spu``, ``brand``), ``stage``. Read off
        the stored stage timelines when they are current; ``stored=False`` computes it.
        """
        return self.view.snapshot(at, level=level, stored=stored)

    def assets(
        self, at: Any, by: str = "brand", cumulative: bool = False, level: str | None = None,
        stored: bool = True,
    ) -> ibis.Table:
        """Users per entity and stage on ``at``: ``brand`` (or ``spu``, ``brand``), ``stage``, ``users``.

        ``by`` (or ``level``, which wins) is ``brand`` or ``spu``; ``cumulative`` counts
        users at or above each stage; ``stored=False`` computes the snapshot even when the
        stored stage timelines are current.
        """
        return self.view.assets(at, level=level or by, cumulative=cumulative, stored=stored)

    def seeded_crowd(self, at: Any, level: str | None = None) -> ibis.Table:
        """The seeded crowd (exclusive I plus TI) per entity: ``stage`` is ``I+TI``."""
        return self.view.seeded_crowd(at, level=level)

    def timelines(self, level: str | None = None) -> ibis.Table:
        """Per (user, entity) the maximal intervals of constant level.

        Columns ``user_id``, entity keys, ``start_date``, ``end_date`` (inclusive), ``stage``.
        """
        return self.view.timelines(level=level)

    # --- stored rollups (counters_daily, asset_history) -----------------------------------------

    def asset_series(
        self, start: Any, end: Any, freq: str = "day", level: str | None = None
    ) -> ibis.Table:
        """Users per entity x stage for each day (``week``: each ISO week's last day) of a range.

        Read from ``asset_history`` when it covers the range and is current, else computed
        from timelines. Columns ``date``, entity keys, ``stage``, ``users`` (zeros included).
        """
        return self.view.asset_series(start, end, freq, level=level)

    def update_series(self, level: str | None = None):
        """Extend the stored ``asset_history`` to the last day with events (idempotent)."""
        from aips.maintain.history import update_history

        return update_history(self.store, self.model, level=level)

    def backfill_series(self, start: Any, end: Any, level: str | None = None):
        """Recompute the stored ``asset_history`` for a range (one sweep)."""
        from aips.maintain.history import backfill_history

        return backfill_history(self.store, self.model, start, end, level=level)

    def refresh_counters(self, dates: Any = None):
        """Build or incrementally refresh the stored ``counters_daily`` rollup."""
        from aips.maintain.rollup import refresh_counters

        return refresh_counters(self.store, self.model, dates)

    # --- flows (aips.analytics.flows) ---------------------------------------------------------

    def flows(self, t0, t1, level: str | None = None) -> ibis.Table:
        """Each (user, entity) with a level at t0 or t1: ``from_stage``, ``to_stage``, ``movement``."""
        from aips.analytics import flows as _flows
        return _flows.flows(self.view, t0, t1, level=level)

    def flow_matrix(self, t0, t1, level: str | None = None) -> ibis.Table:
        """The Sankey: users per (entity, from_stage, to_stage, movement)."""
        from aips.analytics import flows as _flows
        return _flows.flow_matrix(self.view, t0, t1, level=level)

    def flow_rates(self, t0, t1, level: str | None = None) -> ibis.Table:
        """Per (entity, stage at t0): how many moved up by t1, and the flow rate."""
        from aips.analytics import flows as _flows
        return _flows.flow_rates(self.view, t0, t1, level=level)

    def new_ti(self, start, end, level: str | None = None) -> ibis.Table:
        """Pairs whose level reached TI or above for the first time on a day in [start, end]."""
        from aips.analytics import flows as _flows
        return _flows.new_ti(self.view, start, end, level=level)

    def new_ti_counts(self, start, end, level: str | None = None) -> ibis.Table:
        """New TI per entity in [start, end]: ``<entity>``, ``new_ti``."""
        from aips.analytics import flows as _flows
        return _flows.new_ti_counts(self.view, start, end, level=level)

    def penetration(self, at) -> ibis.Table:
        """Per brand: AIPS users / category audience (see :mod:`aips.engine.penetration`)."""
        from aips.analytics import flows as _flows
        return _flows.penetration(self.view, at)

    def competitors(self, at, category: str | None = None) -> ibis.Table:
        """Brands ranked by TI and I+TI within each category, with TI share."""
        from aips.analytics import flows as _flows
        return _flows.competitors(self.view, at, category=category)

    # --- outcomes (aips.analytics: funnel, decision_cycle, roi, loyalty) ------------------------

    def funnel(
        self,
        steps: list[str] | str,
        window: str | int | dt.timedelta = "14d",
        order: str = "ordered",
        exclude: Any = None,
        breakdown: str | None = None,
        attribution: str = "first_touch",
        start: Any = None,
        end: Any = None,
        brand: str | None = None,
    ) -> FunnelResult:
        """A funnel over event types, after PostHog's semantics (see :mod:`aips.engine.funnel`).

        See :func:`aips.analytics.funnel.funnel` for the arguments.
        """
        from aips.analytics import funnel as _funnel
        return _funnel.funnel(self.view, steps, window=window, order=order, exclude=exclude,
                              breakdown=breakdown, attribution=attribution, start=start, end=end,
                              brand=brand)

    def km_table(self, category: str, start: str = "first_touch", brand: str | None = None) -> ibis.Table:
        """The aggregated KM table of a category (unexecuted): ``duration, purchases, censored``."""
        from aips.analytics import decision_cycle as _cycle
        return _cycle.km_table(self.view, category, start, brand)

    def decision_cycle(
        self,
        category: str,
        start: str = "first_touch",
        method: str = "km",
        brand: str | None = None,
        **options: Any,
    ):
        """The decision cycle of a category from Kaplan-Meier (or a mixture-cure model).

        See :func:`aips.analytics.decision_cycle.decision_cycle`.
        """
        from aips.analytics import decision_cycle as _cycle
        return _cycle.decision_cycle(self.view, category, start, method, brand, **options)

    def roi(self, campaign: str, x: int | None = None, lookback_days: int | None = None, alpha: float = 0.05,
            touches: ibis.Table | None = None):
        """ROI(T+x) of a campaign, attributed and (with a holdout) incremental.

        See :func:`aips.analytics.roi.roi`; returns a fitted :class:`~aips.analytics.roi.CampaignROI`.
        """
        from aips.analytics import roi as _roi
        return _roi.roi(self.view, campaign, x=x, lookback_days=lookback_days, alpha=alpha, touches=touches)

    def loyalty(
        self,
        t0: Any = None,
        t1: Any = None,
        x: int | None = None,
        brand: str | None = None,
        ti: bool = True,
    ) -> ibis.Table:
        """Repurchase, P-crowd retention and TI -> P conversion per brand (unexecuted).

        See :func:`aips.analytics.loyalty.loyalty`.
        """
        from aips.analytics import loyalty as _loyalty
        return _loyalty.loyalty(self.view, t0, t1, x=x, brand=brand, ti=ti)

    # --- attribution (aips.analytics.attribution.api) ------------------------------------------

    def attribute(
        self,
        model: str = "markov",
        target: str = "purchase",
        by: str = "channel",
        lookback: int | None = None,
        order: int = 1,
        *,
        brand: str | Sequence[str] | None = None,
        transform: str | Sequence[str] = "keep",
        half_life: float = 7.0,
        compare: bool | Sequence[str] = False,
        paths: Any = None,
        **params: Any,
    ) -> pd.DataFrame:
        """Credit the target's conversions to channels (or campaigns, creators).

        See :func:`aips.analytics.attribution.api.attribute`.
        """
        from aips.analytics.attribution import api as _attribution
        return _attribution.attribute(
            self.view, model, target, by, lookback, order, brand=brand, transform=transform,
            half_life=half_life, compare=compare, paths=paths, **params)

    def attribution_paths(
        self,
        target: str = "purchase",
        by: str = "channel",
        lookback: int | None = None,
        *,
        brand: str | Sequence[str] | None = None,
        transform: str | Sequence[str] = "keep",
        half_life: float | None = None,
        organic: Sequence[str] | None = None,
    ) -> ibis.Table:
        """The aggregated paths of a target (unexecuted): ``path, conversions, value, nulls``."""
        from aips.analytics.attribution import api as _attribution
        return _attribution.attribution_paths(
            self.view, target, by, lookback, brand=brand, transform=transform,
            half_life=half_life, organic=organic)

    def attribution_chain(
        self, target: str = "purchase", by: str = "channel", *,
        brand: str | Sequence[str] | None = None,
    ) -> ChainData:
        """Stage-chain exposure cells and converter profiles for the incremental model
        (aggregated in the backend, see :func:`aips.engine.chains.chain_cells`)."""
        from aips.analytics.attribution import api as _attribution
        return _attribution.attribution_chain(self.view, target, by, brand=brand)

    # --- activation ------------------------------------------------------------------------
    # Audiences, creators and the diagnosis: calls into aips.activation (view prepended).

    def audience(
        self, brand: str | Sequence[str] | None = None, at: Any = None,
        stages: str | Sequence[str] | None = None, *, flow: Any = None, t0: Any = None,
        t1: Any = None, funnel: Sequence[str] | str | None = None, step: int | None = None,
        kind: str = "converted", window: str = "14d", order: str = "ordered",
        funnel_start: Any = None, funnel_end: Any = None, category: str | None = None,
        competitors_of: str | None = None, attrs: Any = None, where: str | None = None,
        name: str | None = None,
    ):
        """Select (user, brand) pairs; see :func:`aips.activation.audiences.audience`."""
        from aips.activation.audiences import audience

        return audience(
            self.view, brand, at, stages, flow=flow, t0=t0, t1=t1, funnel=funnel, step=step,
            kind=kind, window=window, order=order, funnel_start=funnel_start,
            funnel_end=funnel_end, category=category, competitors_of=competitors_of, attrs=attrs,
            where=where, name=name)

    def audience_from_spec(self, spec: Any, at: Any = None):
        """Re-run a saved definition (spec, dict or YAML/JSON path), optionally on a new date."""
        from aips.activation.audiences import audience_from_spec

        return audience_from_spec(self.view, spec, at=at)

    def overlap(self, audiences: Sequence[Any], on: str = "user") -> list[dict]:
        """Venn cells of 2-8 audiences (see :func:`aips.activation.audiences.overlap`)."""
        from aips.activation.audiences import overlap

        return overlap(audiences, on=on)

    def creators(
        self, target: Any = "TI", at: Any = None, *, brand: str | Sequence[str] | None = None,
        category: str | None = None, competitors_of: str | None = None, lookback: int = 90,
        k: int = 7, budget: float | None = None, top: int = 20,
        attribution: str | None = "markov", min_touches: int = 30,
    ):
        """Rank KOL/KOC creators for a target crowd; see :func:`aips.activation.creators.creators`."""
        from aips.activation.creators import creators

        return creators(
            self.view, target, at, brand=brand, category=category, competitors_of=competitors_of,
            lookback=lookback, k=k, budget=budget, top=top, attribution=attribution,
            min_touches=min_touches)

    def diagnose(
        self, brand: str, at: Any, *, period: int = 90, lang: str = "en", playbook: Any = None,
        tolerance: float = 0.2, alpha: float = 0.05, min_base: int = 30, actions: bool = True,
    ):
        """Diagnose a brand's funnel on ``at`` against its category; attach the playbook.

        See :func:`aips.activation.diagnose.diagnose`.
        """
        from aips.activation.diagnose import diagnose

        return diagnose(self.view, brand, at, period=period, lang=lang, playbook=playbook,
                        tolerance=tolerance, alpha=alpha, min_base=min_base, actions=actions)

    # --- insight ---------------------------------------------------------------------------
    # Crowds, portraits, content and engagement: calls into aips.crowd and aips.insight.

    def crowd(self, spec: Any) -> ibis.Table:
        """The crowd a spec names: ``user_id``, ``brand``, ``stage`` (see :mod:`aips.crowd`)."""
        from aips.crowd import crowd

        return crowd(self.view, spec)

    def portrait(
        self, crowd: Any, by: str | Sequence[str] | None = None, baseline: Any = "category", *,
        at: Any = None, brand: str | None = None, min_support: int = 30, alpha: float = 0.05,
        top: int | None = 20,
    ) -> ibis.Table:
        """The crowd's portrait against a baseline, with TGI and a z-test per value.

        See :func:`aips.insight.portrait.portrait`.
        """
        from aips.insight.portrait import portrait

        return portrait(self.view, crowd, by, baseline, at=at, brand=brand,
                        min_support=min_support, alpha=alpha, top=top)

    def portrait_compare(
        self, crowd: Any, other: Any, by: str | Sequence[str] | None = None,
        baseline: Any = "category", *, at: Any = None, brand: str | None = None,
        min_support: int = 30, alpha: float = 0.05, top: int | None = 20,
    ) -> ibis.Table:
        """Two crowds side by side; see :func:`aips.insight.portrait.portrait_compare`."""
        from aips.insight.portrait import portrait_compare

        return portrait_compare(self.view, crowd, other, by, baseline, at=at, brand=brand,
                                min_support=min_support, alpha=alpha, top=top)

    def content_insight(
        self, brand: str, advance: str = "I->TI", by: str | Sequence[str] = "format",
        within_days: int = 7, *, horizon_days: int = 30, start: Any = None, end: Any = None,
        min_support: int = 30, alpha: float = 0.05, adjusted: bool = True,
    ) -> ibis.Table:
        """Per note, format, creator or keyword: how touched users advance from a stage.

        See :func:`aips.insight.content.content_insight`.
        """
        from aips.insight.content import content_insight

        return content_insight(self.view, brand, advance, by, within_days, horizon_days=horizon_days,
                               start=start, end=end, min_support=min_support, alpha=alpha,
                               adjusted=adjusted)

    def content_strategy(
        self, brand: str, by: str | Sequence[str] = ("format", "keyword"), within_days: int = 7,
        *, top: int = 5, horizon_days: int = 30, start: Any = None, end: Any = None,
        min_support: int = 30, alpha: float = 0.05,
    ) -> ibis.Table:
        """The content-strategy table; see :func:`aips.insight.content.content_strategy`."""
        from aips.insight.content import content_strategy

        return content_strategy(self.view, brand, by, within_days, top=top, horizon_days=horizon_days,
                                start=start, end=end, min_support=min_support, alpha=alpha)

    def search_share(self, brand: str | None = None, start: Any = None, end: Any = None,
                     category: str | None = None) -> ibis.Table:
        """Search share of voice; see :func:`aips.insight.content.search_share`."""
        from aips.insight.content import search_share

        return search_share(self.view, brand, start, end, category)

    def engagement(
        self, brand: str, start: Any, end: Any, *, freq: str = "week",
        interactions: Sequence[str] = ("like", "collect", "comment", "share", "follow"),
    ) -> ibis.Table:
        """Dwell, deep-read rate and interactions per reader, per period and reader stage.

        See :func:`aips.insight.engagement.engagement`.
        """
        from aips.insight.engagement import engagement

        return engagement(self.view, brand, start, end, freq=freq, interactions=interactions)

    # --- lifetime --------------------------------------------------------------------------------

    def plan(self, brand: str, budget: float, horizon: int = 30, goal: str = "purchases",
             low: dict | None = None, high: dict | None = None, creators: bool = False) -> dict:
        """Split ``budget`` (CNY over ``horizon`` days) across channels to maximise ``goal``
        (``TI``, ``purchases`` or ``revenue``); see :func:`aips.planner.plan.plan`. Needs
        campaigns and a users table with a holdout (``aips simulate`` worlds have both).
        ``creators``: also the KOL/KOC to book within the KOL and KOC shares (key
        ``creators``; :mod:`aips.planner.creators`), which needs the creators table."""
        from aips.planner.plan import plan

        return plan(self.view, brand, budget, horizon, goal, low, high, creators=creators)

    def planner(self, brand: str, bootstrap: int = 40):
        """The brand's planner fitted once (curves and forecast from one read of the
        aggregates): forecast any split cheaply (:class:`aips.planner.plan.Planner`; the
        report's Plan section and the dashboard's planner page use it)."""
        from aips.planner.plan import Planner

        return Planner(self.view, brand, bootstrap)

    def close(self) -> None:
        """Release the store (its file lock)."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(store: Any = None, config: Any = None, *, read_only: bool = False,
                   lock_timeout: float | None = None, spark: SparkOptions | None = None,
                   memory_limit: str | int | None = None, threads: int | None = None) -> Workspace:
    """Open a workspace: ``aips.open(store=None, config=None, read_only=False)``.

    Args:
        store: see :func:`aips.store.connect` (default ``$AIPS_STORE`` or ``./aips.duckdb``).
        config: a YAML path or a :class:`Model` (default ``./aips.yaml`` or the shipped model).
        read_only: open an existing DuckDB store read-only (notebooks beside the CLI or the
            dashboard: many read-only processes may share a file, a writer waits for them).
        lock_timeout: seconds to wait for another process to release the file (default
            ``$AIPS_LOCK_TIMEOUT`` or 60).
        spark: warehouse, database and settings of a Spark store; the model's
            ``store: spark_conf`` lies underneath its ``conf``.
        memory_limit, threads: a DuckDB store's limits (``"4GiB"``, ``"50%"``; ``2``), over
            ``$AIPS_MEMORY_LIMIT`` / ``$AIPS_THREADS`` and the model's ``store:`` section
            (:mod:`aips.store.settings`).
    """
    from aips.store.settings import resolve

    model = resolve_model(config)
    spark = (spark or SparkOptions()).under(model.store.spark_conf)
    settings = resolve(cli={"memory_limit": memory_limit, "threads": threads}, model=model.store)
    return Workspace(connect(store, read_only=read_only, timeout=lock_timeout, spark=spark, settings=settings),
                     model)

