"""Crowd portraits (人群画像): who is in a crowd, against a baseline, with TGI.

A **crowd** is any Ibis table with a ``user_id`` column (a stage of a brand on a day, a
flow cell, a saved audience); it is reduced to its distinct users. A **dimension** is either

* a user attribute: a column of the optional ``users`` table (``gender``, ``age_band``,
  ``city_tier``, ...). Users without a row, or with a null value, count as ``(unknown)``, so
  an attribute's shares sum to 1. A *cross* dimension joins attributes with ``*``
  (``gender*age_band*city_tier``); its values join theirs with ``|`` (``F|18-24|tier1``);
* an interest, read from the events on the local dates ``start .. end`` (the portrait's
  window, by default the audience window ending on the crowd's day):

  ============ ===========================================================================
  ``category``  categories the user engaged with (any event but an impression), any brand
  ``keyword``   search terms the user typed (``search`` events; trimmed, lower case)
  ``creator``   creators whose notes the user engaged with (any event but an impression)
  ============ ===========================================================================

  A user engaged with several values counts once in each, so interest shares do not sum to 1.

For each (dimension, value), counting distinct users:

* ``crowd_share`` = crowd users with the value / crowd size; ``baseline_share`` likewise;
* ``tgi`` = crowd_share / baseline_share x 100 (100: as common as in the baseline; null when
  the baseline has nobody with the value);
* ``z`` and ``p_value``: the two-proportion z-test of the two shares (pooled variance,
  two-sided). When the crowd is part of the baseline (a brand's TI inside its category
  audience) the two samples overlap, which makes this test conservative;
* ``supported`` = crowd_users >= ``min_support``; ``significant`` = supported and
  p_value < ``alpha``. Rows are ranked within each dimension: supported rows first, then
  by TGI (highest first), so a tiny segment with a huge TGI cannot top the list.

Counting runs in the backend (one query per crowd: a long table of dimension, value,
users); the z-tests run in Python on that small table.

>>> import ibis, pandas as pd
>>> users = ibis.memtable({"user_id": ["u1", "u2", "u3", "u4"], "gender": ["F", "F", "M", None]})
>>> crowd = ibis.memtable({"user_id": ["u1", "u2"]})
>>> counts = portrait_counts(crowd, users=users, attributes=["gender"]).to_pandas()
>>> sorted(counts.itertuples(index=False, name=None))
[('', '', 2), ('gender', 'F', 2)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce
from typing import Any

import ibis
import numpy as np
import pandas as pd

from aips.crowd import as_list
from aips.crowd import crowd as crowd_table
from aips.dates import as_date
from aips.exceptions import ConfigError
from aips.insight.frames import memtable
from aips.view import View

UNKNOWN = "(unknown)"
"""Value of an attribute for users without one (no ``users`` row, or a null)."""

INTERESTS: dict[str, str] = {"category": "category", "keyword": "keyword", "creator": "creator_id"}
"""Interest dimensions and the event column each reads."""

NOT_ENGAGED = ("impression",)
"""Event types that do not count as engaging with a category or a creator."""

SKIP_COLUMNS = ("user_id", "holdout")
"""Columns of ``users`` that are not attributes."""

CROSS = "*"
"""Joins attributes into a cross dimension: ``gender*age_band``."""

_SIZE = ""  # the dimension name of the crowd-size row in :func:`portrait_counts`

COLUMNS = (
    "dimension", "value", "crowd_users", "crowd_size", "crowd_share", "baseline_users",
    "baseline_size", "baseline_share", "tgi", "z", "p_value", "supported", "significant", "rank",
)


def attribute_columns(users: ibis.Table | None) -> list[str]:
    """The attribute columns of a ``users`` table (every column but user_id and holdout)."""
    if users is None:
        return []
    return [c for c in users.columns if c not in SKIP_COLUMNS]


def split_dimensions(
    by: Sequence[str], users: ibis.Table | None
) -> tuple[list[str], list[str]]:
    """Split ``by`` into (attribute or cross dimensions, interest dimensions); checks names."""
    known = attribute_columns(users)
    attrs, interests = [], []
    for dim in by:
        if dim in INTERESTS:
            interests.append(dim)
            continue
        parts = dim.split(CROSS)
        missing = [p for p in parts if p not in known]
        if missing:
            where = f"the users table has {', '.join(known)}" if known else "there is no users table"
            raise ConfigError(
                f"unknown portrait dimension {missing[0]!r}: {where}; interests are "
                f"{', '.join(INTERESTS)}; cross attributes with '*' (gender*age_band)"
            )
        attrs.append(dim)
    return attrs, interests


def distinct_users(crowd: ibis.Table) -> ibis.Table:
    """The crowd's distinct ``user_id`` (one column)."""
    if "user_id" not in crowd.columns:
        from aips.exceptions import ConfigError

        raise ConfigError(f"a crowd needs a user_id column (it has {', '.join(crowd.columns)})")
    return crowd.select("user_id").distinct()


def _attribute_rows(people: ibis.Table, users: ibis.Table, dims: list[str]) -> list[ibis.Table]:
    cols = sorted({p for d in dims for p in d.split(CROSS)})
    attrs = users.select("user_id", *cols).distinct()
    joined = people.left_join(attrs, "user_id").select("user_id", *cols)
    out = []
    for dim in dims:
        parts = [joined[p].cast("string").fill_null(UNKNOWN) for p in dim.split(CROSS)]
        value = reduce(lambda a, b: a.concat("|", b), parts)
        out.append(joined.select("user_id", dimension=ibis.literal(dim), value=value))
    return out


def _interest_rows(
    people: ibis.Table, events: ibis.Table, dims: list[str], start: dt.date, end: dt.date
) -> list[ibis.Table]:
    ev = events.filter(events.local_date.between(start, end))
    ev = ev.semi_join(people, "user_id")
    out = []
    for dim in dims:
        if dim == "keyword":
            rows = ev.filter((ev.event_type == "search") & ev.keyword.notnull())
            value = rows.keyword.strip().lower()
        else:
            rows = ev.filter(~ev.event_type.isin(NOT_ENGAGED) & ev[INTERESTS[dim]].notnull())
            value = rows[INTERESTS[dim]].cast("string")
        rows = rows.select("user_id", dimension=ibis.literal(dim), value=value)
        out.append(rows.filter(rows.value != ""))
    return out


def portrait_counts(
    crowd: ibis.Table,
    *,
    users: ibis.Table | None = None,
    events: ibis.Table | None = None,
    attributes: Sequence[str] = (),
    interests: Sequence[str] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """Distinct crowd users per (dimension, value): ``dimension``, ``value``, ``users``.

    One extra row with an empty dimension and value holds the crowd size. ``interests``
    need ``events`` and the window ``start .. end`` (local dates, inclusive).
    """
    people = distinct_users(crowd)
    parts = [people.select("user_id", dimension=ibis.literal(_SIZE), value=ibis.literal(_SIZE))]
    if attributes:
        if users is None:
            raise ConfigError(
                f"the portrait dimensions {', '.join(attributes)} are user attributes and need the "
                "users table: load it (aips ingest users.csv --table users) or leave them out of --by"
            )
        parts += _attribute_rows(people, users, list(attributes))
    if interests:
        if events is None or start is None or end is None:
            raise ConfigError(
                f"the portrait dimensions {', '.join(interests)} are read from events and need the "
                "events table and a window (start, end)"
            )
        parts += _interest_rows(people, events, list(interests), start, end)
    rows = reduce(lambda a, b: a.union(b, distinct=False), parts)
    return rows.group_by(["dimension", "value"]).aggregate(users=rows.user_id.nunique())


def _split_size(counts: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    size_rows = counts["dimension"] == _SIZE
    size = int(counts.loc[size_rows, "users"].sum())
    return counts.loc[~size_rows, ["dimension", "value", "users"]].copy(), size


def two_proportion_z(a: np.ndarray, n1: float, b: np.ndarray, n2: float) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z statistic and two-sided p-value of a/n1 vs b/n2.

    >>> z, p = two_proportion_z(np.array([60.0]), 100, np.array([40.0]), 100)
    >>> round(float(z[0]), 4), round(float(p[0]), 4)
    (2.8284, 0.0047)
    """
    from scipy.stats import norm

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = a / n1 if n1 else np.full_like(a, np.nan)
        p2 = b / n2 if n2 else np.full_like(b, np.nan)
        pooled = (a + b) / (n1 + n2) if n1 + n2 else np.full_like(a, np.nan)
        se = np.sqrt(pooled * (1 - pooled) * ((1 / n1 if n1 else np.nan) + (1 / n2 if n2 else np.nan)))
        z = np.where(se > 0, (p1 - p2) / se, np.where(p1 == p2, 0.0, np.nan))
    p = np.where(np.isnan(z), np.nan, 2 * norm.sf(np.abs(z)))
    return z, p


def tgi_frame(
    crowd_counts: pd.DataFrame,
    baseline_counts: pd.DataFrame,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    top: int | None = None,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The portrait from two executed :func:`portrait_counts` tables (Python, small data).

    ``top`` keeps, per dimension, the values with the most crowd users (``None``: all).
    Returns the columns of :data:`COLUMNS`, ranked as the module docstring says.

    >>> crowd = pd.DataFrame({"dimension": ["", "g", "g"], "value": ["", "F", "M"], "users": [100, 60, 40]})
    >>> base = pd.DataFrame({"dimension": ["", "g", "g"], "value": ["", "F", "M"], "users": [1000, 400, 600]})
    >>> out = tgi_frame(crowd, base)
    >>> out[["value", "crowd_share", "baseline_share", "tgi", "significant"]].to_dict("records")
    [{'value': 'F', 'crowd_share': 0.6, 'baseline_share': 0.4, 'tgi': 150.0, 'significant': True}, \
{'value': 'M', 'crowd_share': 0.4, 'baseline_share': 0.6, 'tgi': 66.66666666666667, 'significant': True}]
    """
    crowd, n1 = _split_size(crowd_counts)
    base, n2 = _split_size(baseline_counts)
    df = crowd.rename(columns={"users": "crowd_users"}).merge(
        base.rename(columns={"users": "baseline_users"}), on=["dimension", "value"], how="left"
    )
    df["baseline_users"] = df["baseline_users"].fillna(0).astype("int64")
    df["crowd_users"] = df["crowd_users"].astype("int64")
    df["crowd_size"] = n1
    df["baseline_size"] = n2
    df["crowd_share"] = df["crowd_users"] / n1 if n1 else np.nan
    df["baseline_share"] = df["baseline_users"] / n2 if n2 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        df["tgi"] = np.where(df["baseline_share"] > 0, 100 * df["crowd_share"] / df["baseline_share"], np.nan)
    df["z"], df["p_value"] = two_proportion_z(df["crowd_users"].to_numpy(), n1, df["baseline_users"].to_numpy(), n2)
    df["supported"] = df["crowd_users"] >= min_support
    df["significant"] = df["supported"] & (df["p_value"] < alpha)
    if top is not None:
        df = (df.sort_values(["dimension", "crowd_users", "value"], ascending=[True, False, True])
                .groupby("dimension", sort=False).head(top))
    df = _rank(df, order)
    return df[list(COLUMNS)].reset_index(drop=True).replace({np.nan: None})


def _rank(df: pd.DataFrame, order: Sequence[str] | None) -> pd.DataFrame:
    dims = list(order or []) + sorted(set(df["dimension"]) - set(order or []))
    df = df.assign(_d=df["dimension"].map({d: i for i, d in enumerate(dims)}),
                   _t=df["tgi"].fillna(-1.0))
    df = df.sort_values(["_d", "supported", "_t", "crowd_users", "value"],
                        ascending=[True, False, False, False, True])
    df["rank"] = df.groupby("dimension").cumcount() + 1
    return df.drop(columns=["_d", "_t"])


def compare_frame(
    crowd_counts: pd.DataFrame,
    other_counts: pd.DataFrame,
    baseline_counts: pd.DataFrame,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    top: int | None = None,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Two crowds side by side, each with its TGI against the same baseline.

    Columns: ``dimension``, ``value``, ``crowd_users``, ``crowd_share``, ``crowd_tgi``,
    ``other_users``, ``other_share``, ``other_tgi``, ``share_diff`` (crowd - other),
    ``z``, ``p_value`` (crowd vs other), ``significant`` (either crowd has at least
    ``min_support`` users with the value and p < alpha), ``rank``; ranked by |share_diff|.
    """
    a = tgi_frame(crowd_counts, baseline_counts, min_support=min_support, alpha=alpha)
    b = tgi_frame(other_counts, baseline_counts, min_support=min_support, alpha=alpha)
    keep = ["dimension", "value", "crowd_users", "crowd_size", "crowd_share", "tgi"]
    df = a[keep].merge(b[keep], on=["dimension", "value"], how="outer", suffixes=("", "_o"))
    for col in ("crowd_users", "crowd_users_o"):
        df[col] = df[col].fillna(0).astype("int64")
    n1 = int(a["crowd_size"].iloc[0]) if len(a) else _split_size(crowd_counts)[1]
    n2 = int(b["crowd_size"].iloc[0]) if len(b) else _split_size(other_counts)[1]
    df["crowd_share"] = df["crowd_users"] / n1 if n1 else np.nan
    df["crowd_share_o"] = df["crowd_users_o"] / n2 if n2 else np.nan
    df = df.rename(columns={"tgi": "crowd_tgi", "crowd_users_o": "other_users",
                            "crowd_share_o": "other_share", "tgi_o": "other_tgi"})
    df["crowd_size"], df["other_size"] = n1, n2
    df["share_diff"] = df["crowd_share"] - df["other_share"]
    df["z"], df["p_value"] = two_proportion_z(df["crowd_users"].to_numpy(), n1, df["other_users"].to_numpy(), n2)
    supported = (df["crowd_users"] >= min_support) | (df["other_users"] >= min_support)
    df["significant"] = supported & (df["p_value"] < alpha)
    if top is not None:
        df = (df.assign(_n=df["crowd_users"] + df["other_users"])
                .sort_values(["dimension", "_n", "value"], ascending=[True, False, True])
                .groupby("dimension", sort=False).head(top).drop(columns="_n"))
    dims = list(order or []) + sorted(set(df["dimension"]) - set(order or []))
    df = df.assign(_d=df["dimension"].map({d: i for i, d in enumerate(dims)}), _a=-df["share_diff"].abs())
    df = df.sort_values(["_d", "_a", "value"]).drop(columns=["_d", "_a"])
    df["rank"] = df.groupby("dimension").cumcount() + 1
    cols = ["dimension", "value", "crowd_users", "crowd_size", "crowd_share", "crowd_tgi", "other_users",
            "other_size", "other_share", "other_tgi", "share_diff", "z", "p_value", "significant", "rank"]
    return df[cols].reset_index(drop=True).replace({np.nan: None})


# --- over a view ------------------------------------------------------------------------------

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


def _brand_of(table: ibis.Table) -> str | None:
    if "brand" not in table.columns:
        return None
    names = table.select("brand").distinct().limit(2).to_pyarrow().column(0).to_pylist()
    return names[0] if len(names) == 1 else None


def _baseline(view: View, baseline: Any, spec: dict | None, brand: str | None, at: dt.date) -> ibis.Table:
    """The baseline crowd: ``category``, ``all``, ``brand:C`` or a crowd (module docstring)."""
    from aips.engine.penetration import audience_window_days, brand_categories

    if isinstance(baseline, str) and baseline == "category":
        if brand is None:
            raise ConfigError("the category baseline needs the crowd's brand: pass brand=, or baseline='all'")
        start = at - dt.timedelta(days=audience_window_days(view.model) - 1)
        window = view.audience_events(at)  # both filter these days again
        cats = brand_categories(window, view.model, at)
        cats = cats.filter((cats.brand == brand) & cats.category.notnull()).select("category")
        ev = window.filter(window.local_date.between(start, at))
        return ev.inner_join(cats, "category").select("user_id")
    if isinstance(baseline, str) and baseline == "all":
        users = view.optional("users")
        return (users if users is not None else view.events).select("user_id")
    if isinstance(baseline, str) and baseline.startswith("brand:"):
        other = baseline.removeprefix("brand:").strip()
        if spec is None:
            raise ConfigError("baseline 'brand:C' needs the crowd as a spec (brand, at, stage)")
        return crowd_table(view, {**spec, "brand": other})
    if isinstance(baseline, str):
        raise ConfigError(f"unknown baseline {baseline!r} (category, all, brand:NAME or a crowd)")
    return crowd_table(view, baseline)


def _inputs(view: View, crowd_: Any, by, at, brand):
    """The crowd's spec (dict or None), table, day, brand, users table and dimensions."""
    spec = crowd_ if isinstance(crowd_, dict) else None
    table = crowd_table(view, crowd_)
    if at is None and spec is not None:
        at = spec.get("at", spec.get("to", spec.get("end")))
    if at is None and spec is None and isinstance(getattr(crowd_, "at", None), dt.date):
        at = crowd_.at  # a saved audience's as-of date
    at = as_date(at, "at") if at is not None else view.last_day()
    brand = brand or (spec or {}).get("brand") or _brand_of(table)
    users = view.optional("users")
    dims = as_list(by)
    if dims is None:
        dims = attribute_columns(users) + list(INTERESTS)
    attrs, interests = split_dimensions(dims, users)
    return spec, table, at, brand, users, dims, attrs, interests


def _count(view: View, crowds: dict[str, ibis.Table], users, attrs, interests, at) -> dict[str, pd.DataFrame]:
    """Counts of several crowds in one query: {name: portrait_counts frame}."""
    from aips.engine.penetration import audience_window_days

    start = at - dt.timedelta(days=audience_window_days(view.model) - 1)
    parts = [
        portrait_counts(t, users=users, events=view.events_between(start, at), attributes=attrs,
                        interests=interests, start=start, end=at).mutate(_crowd=ibis.literal(name))
        for name, t in crowds.items()
    ]
    df = reduce(lambda a, b: a.union(b, distinct=False), parts).to_pandas()
    return {name: df[df["_crowd"] == name].drop(columns="_crowd") for name in crowds}


def _check_baseline(counts: pd.DataFrame, baseline: Any, brand: str | None, at: dt.date) -> None:
    if int(counts.loc[counts["dimension"] == "", "users"].sum()) == 0 and baseline == "category":
        raise ConfigError(
            f"brand {brand!r} has no category audience up to {at} (no events with a category in "
            "the audience window); use baseline='all'"
        )


def portrait(
    view: View,
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
        view: the store as the model reads it.
        crowd: a crowd or a crowd spec (:mod:`aips.crowd`).
        by: dimensions: attributes of ``users`` (``gender``), crosses
            (``gender*age_band``) and interests (``category``, ``keyword``,
            ``creator``); a list or comma-separated text. Default: every attribute
            and every interest.
        baseline: ``category`` (default: the audience of the brand's main category at
            ``at``), ``all`` (every user of ``users``, or with an event), ``brand:C`` (the
            same spec with brand C) or another crowd.
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
        then rank (supported first, then TGI).
    """
    spec, table, at, brand, users, dims, attrs, interests = _inputs(view, crowd, by, at, brand)
    base = _baseline(view, baseline, spec, brand, at)
    counts = _count(view, {"crowd": table, "baseline": base}, users, attrs, interests, at)
    _check_baseline(counts["baseline"], baseline, brand, at)
    df = tgi_frame(counts["crowd"], counts["baseline"], min_support=min_support, alpha=alpha,
                   top=top, order=dims)
    return memtable(df, _PORTRAIT_SCHEMA)


def portrait_compare(
    view: View,
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
    Columns: see :func:`compare_frame`.
    """
    spec, table, at, brand, users, dims, attrs, interests = _inputs(view, crowd, by, at, brand)
    if isinstance(other, str) and other.startswith("brand:"):
        if spec is None:
            raise ConfigError("other='brand:C' needs the crowd as a spec (brand, at, stage)")
        other = {**spec, "brand": other.removeprefix("brand:").strip()}
    other_table = crowd_table(view, other)
    base = _baseline(view, baseline, spec, brand, at)
    counts = _count(view, {"crowd": table, "other": other_table, "baseline": base}, users, attrs,
                    interests, at)
    _check_baseline(counts["baseline"], baseline, brand, at)
    df = compare_frame(counts["crowd"], counts["other"], counts["baseline"], min_support=min_support,
                       alpha=alpha, top=top, order=dims)
    return memtable(df, _COMPARE_SCHEMA)
