"""Workspace methods for insight: crowd portraits, the content that moves each stage, engagement.

Each returns an Ibis table. Counting runs in the store's backend; portraits' tests and the
content tables' intervals are computed in Python on the small aggregated counts, and those
results come back as in-memory Ibis tables (``ibis.memtable``).

**Crowds.** Wherever a crowd is expected, pass

* an Ibis table with ``user_id`` (and optionally ``brand``): a snapshot slice, a flow cell,
  a saved audience (an object with an Ibis ``table`` attribute or a ``to_ibis()`` method is
  unwrapped), or a pandas / pyarrow table;
* or a spec dict: ``{"brand": B, "at": D, "stage": "TI"}`` (``stage``: one stage, a list,
  ``"I+TI"`` for the seeded crowd, or None / ``"all"`` for every AIPS level), or a flow cell
  ``{"brand": B, "from": t0, "to": t1, "from_stage": "I", "to_stage": "TI"}``
  (either stage optional; ``"none"`` for no level);
* or a "reached" spec: ``{"brand": B, "reached": "TI", "start": D0, "end": D1}``: users at
  that stage or above on at least one day of ``start .. end`` (both optional: all data),
  e.g. everyone the brand ever seeded deeply.

**Baselines** of a portrait: ``"category"`` (the default: the audience of the brand's main
category at ``at``, users with any event of the category in the audience window, as in
:mod:`aips.engine.penetration`), ``"all"`` (every user of the ``users`` table, or every user
with an event when there is none), ``"brand:C"`` (brand C's crowd: the same spec with brand
C), or any crowd as above.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce
from typing import Any

import ibis
import pandas as pd

from aips.dates import as_date
from aips.exceptions import ConfigError
from aips.insight import content as _content
from aips.insight import engagement as _engagement
from aips.insight import portrait as _portrait

STAGE_SETS = {"I+TI": ("I", "TI"), "all": ("A", "I", "TI", "P", "S")}


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _unwrap(crowd: Any) -> ibis.Table:
    """An Ibis table from a crowd object (Table, Audience-like, pandas, pyarrow)."""
    if isinstance(crowd, ibis.Table):
        return crowd
    for attr in ("table", "expr", "users"):
        inner = getattr(crowd, attr, None)
        if isinstance(inner, ibis.Table):
            return inner
    if hasattr(crowd, "to_ibis"):
        return crowd.to_ibis()
    if isinstance(crowd, pd.DataFrame) or hasattr(crowd, "schema") and hasattr(crowd, "num_rows"):
        return ibis.memtable(crowd)
    raise ConfigError(
        f"not a crowd: {type(crowd).__name__} (pass an Ibis table with user_id, an audience, or a "
        "spec such as {'brand': B, 'at': D, 'stage': 'TI'})"
    )


class InsightMixin:
    """Crowd portraits with TGI, content insight per stage advance, engagement depth.

    Mixed into :class:`~aips.workspace.Workspace`; it uses the workspace's ``store``,
    ``model``, ``events``, ``snapshot`` and ``timelines``, and ``flows``
    (:class:`~aips.flows_api.FlowsMixin`) for flow-cell crowds.
    """

    # --- crowds --------------------------------------------------------------------------

    def crowd(self, spec: dict[str, Any] | Any) -> ibis.Table:
        """The crowd a spec names (see the module docstring): ``user_id``, ``brand``, ``stage``.

        A non-dict crowd is returned as an Ibis table unchanged.
        """
        if not isinstance(spec, dict):
            return _unwrap(spec)
        unknown = set(spec) - {"brand", "at", "stage", "from", "to", "from_stage", "to_stage", "movement",
                               "reached", "start", "end"}
        if unknown:
            raise ConfigError(f"unknown crowd spec key(s) {', '.join(sorted(unknown))}")
        if "brand" not in spec:
            raise ConfigError("a crowd spec needs a brand")
        brand = spec["brand"]
        if "reached" in spec:
            return self._reached(brand, spec["reached"], spec.get("start"), spec.get("end"))
        if "from" in spec or "to" in spec:
            flows = self.flows(as_date(spec["from"], "from"), as_date(spec["to"], "to"), level="brand")
            cell = flows.filter(flows.brand == brand)
            for key in ("from_stage", "to_stage", "movement"):
                if spec.get(key) is not None:
                    cell = cell.filter(cell[key].isin(_as_list(spec[key])))
            return cell.select("user_id", "brand", stage=cell.to_stage)
        if "at" not in spec:
            raise ConfigError("a crowd spec needs 'at' (a date), or 'from' and 'to' for a flow cell")
        snap = self.snapshot(as_date(spec["at"], "at"), level="brand")
        snap = snap.filter(snap.brand == brand)
        stages = self._stages(spec.get("stage"))
        if stages is not None:
            snap = snap.filter(snap.stage.isin(stages))
        return snap.select("user_id", "brand", "stage")

    def _reached(self, brand: str, stage: str, start: Any, end: Any) -> ibis.Table:
        from aips.config.model import STAGE_RANK
        from aips.engine.flows import stage_rank

        if stage not in STAGE_RANK:
            raise ConfigError(f"unknown stage {stage!r} in 'reached' (A, I, TI, P or S)")
        tl = self.timelines(level="brand")
        tl = tl.filter((tl.brand == brand) & (stage_rank(tl.stage) >= STAGE_RANK[stage]))
        if start is not None:
            tl = tl.filter(tl.end_date >= as_date(start, "start"))
        if end is not None:
            tl = tl.filter(tl.start_date <= as_date(end, "end"))
        return tl.select("user_id", "brand").distinct().mutate(stage=ibis.literal(stage))

    @staticmethod
    def _stages(stage: Any) -> list[str] | None:
        if stage is None or stage == "all":
            return None
        names = []
        for s in _as_list(stage) or []:
            names += list(STAGE_SETS.get(s, (s,)))
        bad = [s for s in names if s not in STAGE_SETS["all"]]
        if bad:
            raise ConfigError(f"unknown stage {bad[0]!r} (A, I, TI, P, S, I+TI or all)")
        return names

    def _last_day(self) -> dt.date:
        value = self.events.local_date.max().to_pyarrow().as_py()
        if value is None:
            raise ConfigError("the store has no events yet (load data first: aips ingest FILE)")
        return value

    def _brand_of(self, crowd: ibis.Table) -> str | None:
        if "brand" not in crowd.columns:
            return None
        names = crowd.select("brand").distinct().limit(2).to_pyarrow().column(0).to_pylist()
        return names[0] if len(names) == 1 else None

    def _baseline(self, baseline: Any, spec: dict | None, brand: str | None, at: dt.date) -> ibis.Table:
        from aips.engine.penetration import audience_window_days, brand_categories

        if isinstance(baseline, str) and baseline == "category":
            if brand is None:
                raise ConfigError("the category baseline needs the crowd's brand: pass brand=, or baseline='all'")
            cats = brand_categories(self.events, self.model, at)
            cats = cats.filter((cats.brand == brand) & cats.category.notnull()).select("category")
            ev = self.events
            start = at - dt.timedelta(days=audience_window_days(self.model) - 1)
            ev = ev.filter(ev.local_date.between(start, at))
            return ev.inner_join(cats, "category").select("user_id")
        if isinstance(baseline, str) and baseline == "all":
            if self.store.has("users"):
                return self.store.table("users").select("user_id")
            return self.events.select("user_id")
        if isinstance(baseline, str) and baseline.startswith("brand:"):
            other = baseline.removeprefix("brand:").strip()
            if spec is None:
                raise ConfigError("baseline 'brand:C' needs the crowd as a spec (brand, at, stage)")
            return self.crowd({**spec, "brand": other})
        if isinstance(baseline, str):
            raise ConfigError(f"unknown baseline {baseline!r} (category, all, brand:NAME or a crowd)")
        return self.crowd(baseline)

    # --- portraits -----------------------------------------------------------------------

    def _portrait_inputs(self, crowd, by, at, brand):
        spec = crowd if isinstance(crowd, dict) else None
        table = self.crowd(crowd)
        if at is None and spec is not None:
            at = spec.get("at", spec.get("to", spec.get("end")))
        if at is None and spec is None and isinstance(getattr(crowd, "at", None), dt.date):
            at = crowd.at  # a saved audience's as-of date
        at = as_date(at, "at") if at is not None else self._last_day()
        brand = brand or (spec or {}).get("brand") or self._brand_of(table)
        users = self.store.table("users") if self.store.has("users") else None
        dims = _as_list(by)
        if dims is None:
            dims = _portrait.attribute_columns(users) + list(_portrait.INTERESTS)
        attrs, interests = _portrait.split_dimensions(dims, users)
        return spec, table, at, brand, users, dims, attrs, interests

    def _count(self, crowds: dict[str, ibis.Table], users, attrs, interests, at) -> dict[str, pd.DataFrame]:
        """Counts of several crowds in one query: {name: portrait_counts frame}."""
        from aips.engine.penetration import audience_window_days

        start = at - dt.timedelta(days=audience_window_days(self.model) - 1)
        parts = [
            _portrait.portrait_counts(t, users=users, events=self.events, attributes=attrs,
                                      interests=interests, start=start, end=at).mutate(_crowd=ibis.literal(name))
            for name, t in crowds.items()
        ]
        df = reduce(lambda a, b: a.union(b, distinct=False), parts).to_pandas()
        return {name: df[df["_crowd"] == name].drop(columns="_crowd") for name in crowds}

    @staticmethod
    def _check_baseline(counts: pd.DataFrame, baseline: Any, brand: str | None, at: dt.date) -> None:
        if int(counts.loc[counts["dimension"] == "", "users"].sum()) == 0 and baseline == "category":
            raise ConfigError(
                f"brand {brand!r} has no category audience up to {at} (no events with a category in "
                "the audience window); use baseline='all'"
            )

    def portrait(
        self,
        crowd: Any,
        by: str | Sequence[str] | None = None,
        baseline: Any = "category",
        *,
        at: Any = None,
        brand: str | None = None,
        min_support: int = 30,
        alpha: float = 0.05,
        top: int | None = 20,
    ) -> ibis.Table:
        """The crowd's portrait against a baseline, with TGI and a z-test per value.

        Args:
            crowd: a crowd or a crowd spec (module docstring).
            by: dimensions: attributes of ``users`` (``gender``), crosses
                (``gender*age_band``) and interests (``category``, ``keyword``,
                ``creator``); a list or comma-separated text. Default: every attribute
                and every interest.
            baseline: ``category`` (default), ``all``, ``brand:C`` or another crowd.
            at: the day interests are read up to (the audience window ending on it) and
                the category baseline's day. Default: the spec's ``at`` (a flow cell's
                ``to``, a reached spec's ``end``, an audience's ``at``), else the last day
                with events.
            brand: the crowd's brand, for the category baseline (default: the spec's, or
                the single brand in the crowd table).
            min_support: crowd users a value needs to be ``supported`` (rank first).
            alpha: the z-test's level for ``significant``.
            top: per dimension, keep the values with the most crowd users (None: all).

        Returns:
            ``dimension``, ``value``, ``crowd_users``, ``crowd_size``, ``crowd_share``,
            ``baseline_users``, ``baseline_size``, ``baseline_share``, ``tgi``, ``z``,
            ``p_value``, ``supported``, ``significant``, ``rank``; in the order of ``by``,
            then rank (supported first, then TGI). See :mod:`aips.insight.portrait`.
        """
        spec, table, at, brand, users, dims, attrs, interests = self._portrait_inputs(crowd, by, at, brand)
        base = self._baseline(baseline, spec, brand, at)
        counts = self._count({"crowd": table, "baseline": base}, users, attrs, interests, at)
        self._check_baseline(counts["baseline"], baseline, brand, at)
        df = _portrait.tgi_frame(counts["crowd"], counts["baseline"], min_support=min_support, alpha=alpha,
                                 top=top, order=dims)
        return _memtable(df, _PORTRAIT_SCHEMA)

    def portrait_compare(
        self,
        crowd: Any,
        other: Any,
        by: str | Sequence[str] | None = None,
        baseline: Any = "category",
        *,
        at: Any = None,
        brand: str | None = None,
        min_support: int = 30,
        alpha: float = 0.05,
        top: int | None = 20,
    ) -> ibis.Table:
        """Two crowds side by side (a brand's TI vs a competitor's TI), each with its TGI
        against the same baseline (the first crowd's), and a z-test of crowd vs other.

        ``other`` may be a crowd, a spec, or ``"brand:C"`` (the first spec with brand C).
        Columns: see :func:`aips.insight.portrait.compare_frame`.
        """
        spec, table, at, brand, users, dims, attrs, interests = self._portrait_inputs(crowd, by, at, brand)
        if isinstance(other, str) and other.startswith("brand:"):
            if spec is None:
                raise ConfigError("other='brand:C' needs the crowd as a spec (brand, at, stage)")
            other = {**spec, "brand": other.removeprefix("brand:").strip()}
        other_table = self.crowd(other)
        base = self._baseline(baseline, spec, brand, at)
        counts = self._count({"crowd": table, "other": other_table, "baseline": base}, users, attrs, interests, at)
        self._check_baseline(counts["baseline"], baseline, brand, at)
        df = _portrait.compare_frame(counts["crowd"], counts["other"], counts["baseline"], min_support=min_support,
                                     alpha=alpha, top=top, order=dims)
        return _memtable(df, _COMPARE_SCHEMA)

    # --- content -------------------------------------------------------------------------

    def _content_frame(self, brand, advances, dims, within_days, horizon_days, start, end, min_support,
                       alpha, adjusted=True) -> pd.DataFrame:
        within_days, horizon_days = int(within_days), int(horizon_days)
        if within_days < 0 or horizon_days < 0:
            raise ConfigError(f"within_days and horizon_days must be >= 0, got {within_days}, {horizon_days}")
        start = as_date(start, "start") if start is not None else None
        end = as_date(end, "end") if end is not None else self._last_day() - dt.timedelta(days=horizon_days)
        tl = self.timelines(level="brand")
        # the brand's timelines are read by every advance's cohort: compute them once
        with _cache(tl.filter(tl.brand == brand)) as cached:
            counts = _content.advance_counts(
                self.events, cached, brand, dims, advances,
                within_days=within_days, horizon_days=horizon_days, start=start, end=end,
                cotouch=adjusted, min_support=min_support,
            ).to_pandas()
        df = _content.insight_frame(counts, brand, min_support=min_support, alpha=alpha, order=dims)
        if "note" in dims:
            df = self._with_note_details(df, brand)
        return df

    def _with_note_details(self, df: pd.DataFrame, brand: str) -> pd.DataFrame:
        ev = self.events
        ev = ev.filter((ev.brand == brand) & ev.note_id.notnull())
        notes = ev.group_by(ev.note_id).aggregate(
            content_format=ev.content_format.max(), creator_id=ev.creator_id.max(), channel=ev.channel.max()
        ).to_pandas()
        notes = notes.rename(columns={"note_id": "value"}).assign(dimension="note")
        return df.merge(notes, on=["dimension", "value"], how="left").replace({float("nan"): None})

    def content_insight(
        self,
        brand: str,
        advance: str = "I->TI",
        by: str | Sequence[str] = "format",
        within_days: int = 7,
        *,
        horizon_days: int = 30,
        start: Any = None,
        end: Any = None,
        min_support: int = 30,
        alpha: float = 0.05,
        adjusted: bool = True,
    ) -> ibis.Table:
        """Per note, format, creator or keyword: users touched at the advance's from-stage,
        users advancing within ``within_days`` after a touch, the rate with its Wilson
        interval, and its lift over the brand's average.

        Args:
            brand: the brand.
            advance: ``A->I``, ``I->TI``, ``TI->P``, ``P->S`` (``I-TI`` works too), several
                (a list or comma-separated text), or ``all`` (the four adjacent advances).
            by: ``note``, ``format``, ``creator``, ``keyword``, ``channel``, ``campaign``
                (or several, as a list or comma-separated text).
            within_days: k: touches on the advance day or the k days before count.
            horizon_days: days after reaching the from-stage within which an advance counts.
            start, end: days users first reach the from-stage (default: all, up to the last
                day with events minus the horizon, so everyone is followed for the horizon).
            min_support: touched users a value needs to be ``supported`` (rank first).
            alpha: level of the intervals.
            adjusted: also estimate each supported value's ``incremental`` advance
                probability with the other values' touches held fixed
                (:func:`aips.insight.content.incremental_effects`): one query either way.

        Returns:
            The columns of :data:`aips.insight.content.COLUMNS`, then ``incremental``,
            ``incremental_low``, ``incremental_high`` when adjusted (plus ``content_format``,
            ``creator_id``, ``channel`` for notes), ordered by advance, dimension and rank
            (supported first, then lift). Semantics: :mod:`aips.insight.content`.
        """
        dims = _content.check_dimensions(_as_list(by) or [])
        if not dims:
            raise ConfigError("content_insight needs at least one dimension (by=)")
        if isinstance(advance, str) and advance.strip().lower() == "all":
            advances = list(_content.ADVANCES)
        else:
            advances = [_content.parse_advance(a) for a in _as_list(advance) or []]
        df = self._content_frame(brand, advances, dims, within_days, horizon_days, start, end, min_support, alpha,
                                 adjusted)
        return _memtable(df)

    def content_strategy(
        self,
        brand: str,
        by: str | Sequence[str] = ("format", "keyword"),
        within_days: int = 7,
        *,
        top: int = 5,
        horizon_days: int = 30,
        start: Any = None,
        end: Any = None,
        min_support: int = 30,
        alpha: float = 0.05,
    ) -> ibis.Table:
        """The content-strategy table: per stage (A, I, TI, P: the stage users move out of)
        and dimension, the ``top`` values whose touches are followed by the next advance
        more often than the brand's average (supported, lift > 1, best first).

        S is the last stage: there is nothing to advance to, so it has no row.
        """
        dims = _content.check_dimensions(_as_list(by) or [])
        df = self._content_frame(brand, list(_content.ADVANCES), dims, within_days, horizon_days, start, end,
                                 min_support, alpha)
        out = _content.strategy_frame(df, top=top)
        return _memtable(out)

    def search_share(self, brand: str | None = None, start: Any = None, end: Any = None,
                     category: str | None = None) -> ibis.Table:
        """Search share of voice: each brand's searches among its category's searches.

        Defaults: the 30 days (the audience window) up to the last day with events; all
        brands (only ``brand``'s category when given, or ``category``). Columns: see
        :func:`aips.insight.content.search_share`.
        """
        from aips.engine.penetration import audience_window_days, brand_categories

        end = as_date(end, "end") if end is not None else self._last_day()
        start = as_date(start, "start") if start is not None else end - dt.timedelta(days=audience_window_days(self.model) - 1)
        cats = brand_categories(self.events, self.model, end)
        if brand is not None and category is None:
            found = cats.filter(cats.brand == brand).category.to_pyarrow().to_pylist()
            category = found[0] if found else None
            if category is None:
                raise ConfigError(f"brand {brand!r} has no category up to {end}")
        if category is not None:
            cats = cats.filter(cats.category == category)
        return _content.search_share(self.events, cats, start, end)

    # --- engagement ----------------------------------------------------------------------

    def engagement(
        self,
        brand: str,
        start: Any,
        end: Any,
        *,
        freq: str = "week",
        interactions: Sequence[str] = _engagement.INTERACTIONS,
    ) -> ibis.Table:
        """Dwell, deep-read rate and interactions per reader of ``brand``'s content, per
        period (``day``, ``week``, ``month``, ``total``) and reader stage (plus ``all``).

        See :mod:`aips.insight.engagement` for the definitions.
        """
        return _engagement.engagement_table(
            self.events, self.timelines(level="brand"), self.model, brand,
            as_date(start, "start"), as_date(end, "end"), freq=freq, interactions=interactions,
        )


def _cache(expr: ibis.Table):
    """``expr.cache()`` (use as a context manager: released on exit).

    Ibis 12's PySpark backend caches without registering the in-memory tables an expression
    uses (the engine's timelines use one), so run an empty query first: it registers them,
    and ``LIMIT 0`` computes nothing.
    """
    expr.limit(0).to_pyarrow()
    return expr.cache()


_PORTRAIT_SCHEMA = {
    "dimension": "string", "value": "string", "crowd_users": "int64", "crowd_size": "int64",
    "crowd_share": "float64", "baseline_users": "int64", "baseline_size": "int64",
    "baseline_share": "float64", "tgi": "float64", "z": "float64", "p_value": "float64",
    "supported": "boolean", "significant": "boolean", "rank": "int64",
}
_COMPARE_SCHEMA = {
    "dimension": "string", "value": "string", "crowd_users": "int64", "crowd_size": "int64",
    "crowd_share": "float64", "crowd_tgi": "float64", "other_users": "int64", "other_size": "int64",
    "other_share": "float64", "other_tgi": "float64", "share_diff": "float64", "z": "float64",
    "p_value": "float64", "significant": "boolean", "rank": "int64",
}


def _memtable(df: pd.DataFrame, schema: dict[str, str] | None = None) -> ibis.Table:
    """An in-memory Ibis table from a small result frame, with a stable schema even when empty."""
    if schema is None:
        schema = {c: _dtype(df[c]) for c in df.columns}
    data = {c: df[c].tolist() for c in schema}
    return ibis.memtable(data, schema=schema)


_CONTENT_TYPES = {
    "touched": "int64", "advanced": "int64", "brand_touched": "int64", "brand_advanced": "int64",
    "rank": "int64", "rate": "float64", "rate_low": "float64", "rate_high": "float64",
    "brand_rate": "float64", "lift": "float64", "lift_low": "float64", "lift_high": "float64",
    "supported": "boolean", "significant": "boolean", "cohort": "int64", "cohort_advanced": "int64",
    "typical_days": "int64", "incremental": "float64", "incremental_low": "float64",
    "incremental_high": "float64",
}


def _dtype(series: pd.Series) -> str:
    """Types of the content tables' columns (text unless known)."""
    return _CONTENT_TYPES.get(str(series.name), "string")
