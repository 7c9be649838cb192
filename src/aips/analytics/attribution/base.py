"""The attribution contract: aggregated paths in, credits per channel out, totals conserved.

Every model works on **aggregated paths**, never on events. The layout is
ChannelAttribution's, with our column names:

============== ======= ==========================================================
column         type    meaning
============== ======= ==========================================================
``path``       string  touches in order, separated by ``" > "`` (``""``: no touch)
``conversions`` number  journeys with this path that converted
``value``      float   summed conversion value of those journeys (0 if unknown)
``nulls``      number  journeys with this path that did not convert (0 if unknown)
============== ======= ==========================================================

Optional columns some models use: ``decay`` and ``decay_value`` (time decay: per touch
position, the journeys' normalised decay weights summed over converting journeys; see
:mod:`aips.engine.paths`) or ``lags`` (days from each touch to the conversion).

A model subclasses :class:`AttributionModel` and implements only ``_credit(paths)``: the
base class parses the table once (:class:`Paths`), calls the rule, checks that the
credits sum to the conversions and to the value, and builds the output table
``credits_``: ``channel, conversions, value, share, value_share``. Conversions whose path
has no touch are credited to the row ``(none)``; no model sees them.

>>> from aips.analytics.attribution.heuristic import LastTouch
>>> paths = pd.DataFrame({"path": ["a > b", "b", ""], "conversions": [2, 1, 1],
...                       "value": [20.0, 5.0, 1.0], "nulls": [3, 0, 2]})
>>> LastTouch().fit(paths).credits_[["channel", "conversions", "value"]].to_dict("list")
{'channel': ['b', '(none)', 'a'], 'conversions': [3.0, 1.0, 0.0], 'value': [25.0, 1.0, 0.0]}
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aips.analytics.base import Fitter
from aips.exceptions import ConfigError, ConservationError

PATH_SEP = " > "
"""Separator of touches in a path string (ChannelAttribution's)."""
PATH_COLUMNS = ("path", "conversions", "value", "nulls")
NO_TOUCH = "(none)"
"""Row credited with conversions whose journey had no touch within the lookback."""
CA_COLUMNS = {
    "total_conversions": "conversions",
    "total_conversion_value": "value",
    "total_null": "nulls",
}
"""ChannelAttribution's column names and ours."""


@dataclass(frozen=True)
class Paths:
    """Aggregated paths parsed once, in a flat (CSR) layout that models index with numpy.

    Only paths with at least one touch are here; ``none_conversions`` and ``none_value``
    hold what the paths without touches carried.

    Attributes:
        frame: the canonical table of these paths (same row order as the arrays).
        channels: channel name of each code, in order of first appearance.
        codes: int64 channel code of every touch, path after path.
        starts: offset of each path's first touch; ``starts[-1] == len(codes)``.
        conversions, value, nulls: per path, float64.
    """

    frame: pd.DataFrame
    channels: list[str]
    codes: np.ndarray
    starts: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    none_conversions: float = 0.0
    none_value: float = 0.0

    @property
    def n_paths(self) -> int:
        return len(self.conversions)

    @property
    def lengths(self) -> np.ndarray:
        """Touches per path."""
        return np.diff(self.starts)

    @property
    def path_of_touch(self) -> np.ndarray:
        """Row index of the path each touch belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """0-based position of each touch within its path."""
        return np.arange(len(self.codes)) - np.repeat(self.starts[:-1], self.lengths)

    @property
    def first_index(self) -> np.ndarray:
        return self.starts[:-1]

    @property
    def last_index(self) -> np.ndarray:
        return self.starts[1:] - 1

    def per_touch(self, values: np.ndarray) -> np.ndarray:
        """A per-path array repeated for each touch of the path."""
        return np.repeat(values, self.lengths)

    def code_of(self, names) -> np.ndarray:
        """Codes of the given channel names that occur in the paths."""
        index = {c: i for i, c in enumerate(self.channels)}
        return np.array(sorted(index[n] for n in names if n in index), dtype=np.int64)

    def column_per_touch(self, name: str) -> np.ndarray:
        """A list-valued column (one number per touch) flattened in touch order.

        Accepts lists/arrays or ``" > "``-separated strings; the length of each must match
        the path's.
        """
        col = self.frame[name]
        parts = [
            np.zeros(n) if _missing(v) else np.asarray(_as_list(v), dtype=float)
            for v, n in zip(col, self.lengths, strict=True)
        ]
        lens = np.array([len(p) for p in parts])
        if len(parts) and not np.array_equal(lens, self.lengths):
            bad = int(np.flatnonzero(lens != self.lengths)[0])
            raise ConfigError(
                f"column {name!r}: row {bad} has {lens[bad]} numbers but its path has "
                f"{self.lengths[bad]} touches"
            )
        return np.concatenate(parts) if parts else np.zeros(0)


def _missing(v: Any) -> bool:
    """A null list cell (a path without converting journeys has no decay weights)."""
    return v is None or (isinstance(v, float) and np.isnan(v))


def _as_list(v: Any) -> list:
    if isinstance(v, str):
        return [float(x) for x in v.split(">") if x.strip()]
    if v is None:
        return []
    return list(v)


def as_paths(data: Any) -> pd.DataFrame:
    """The canonical aggregated-path table from a DataFrame, Arrow or Ibis table.

    ChannelAttribution's column names (``total_conversions``, ...) are accepted; a missing
    ``value`` or ``nulls`` column is 0. Extra columns are kept.

    Raises:
        ConfigError: no ``path`` or ``conversions`` column, or negative counts.
    """
    if hasattr(data, "to_pyarrow") and not isinstance(data, pd.DataFrame):
        data = data.to_pyarrow()
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        data = data.to_pandas()
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    df = data.rename(columns={k: v for k, v in CA_COLUMNS.items() if k in data.columns})  # a copy
    missing = [c for c in ("path", "conversions") if c not in df.columns]
    if missing:
        raise ConfigError(
            f"the path table has no {' or '.join(missing)} column (columns: "
            f"{', '.join(map(str, df.columns))}); expected path, conversions[, value, nulls]"
        )
    df["path"] = df["path"].fillna("").astype(str)
    for col in ("conversions", "value", "nulls"):
        if col not in df.columns:
            df[col] = 0.0
        raw = df[col].replace("", np.nan) if df[col].dtype == object else df[col]
        try:
            df[col] = pd.to_numeric(raw, errors="raise").fillna(0).astype("float64")
        except (ValueError, TypeError) as err:
            raise ConfigError(f"column {col!r} is not numeric: {err}") from None
    for col in ("conversions", "nulls"):
        if (df[col] < 0).any():
            raise ConfigError(f"column {col!r} has negative counts")
    return df


def parse_paths(frame: pd.DataFrame) -> Paths:
    """Split path strings into channel codes (vectorised with Arrow).

    Touches are separated by ``>`` and stripped of surrounding spaces (as ChannelAttribution
    does); empty touches are dropped.
    """
    lists = pc.split_pattern(pa.array(frame["path"].to_numpy(dtype=object), pa.string()), ">")
    lens = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.utf8_trim_whitespace(lists.flatten())
    del lists
    keep = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    if not keep.all():
        flat = flat.filter(pa.array(keep))
    enc = pc.dictionary_encode(flat)
    del flat
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    channels = enc.dictionary.to_pylist()
    del enc
    counts = np.bincount(np.repeat(np.arange(len(frame)), lens)[keep], minlength=len(frame))
    touched = counts > 0
    conv = frame["conversions"].to_numpy(dtype=float)
    val = frame["value"].to_numpy(dtype=float)
    sub = frame if touched.all() else frame.loc[touched].reset_index(drop=True)
    starts = np.concatenate([[0], np.cumsum(counts[touched])]).astype(np.int64)
    return Paths(
        frame=sub,
        channels=channels,
        codes=codes,
        starts=starts,
        conversions=conv[touched],
        value=val[touched],
        nulls=frame["nulls"].to_numpy(dtype=float)[touched],
        none_conversions=float(conv[~touched].sum()),
        none_value=float(val[~touched].sum()),
    )


def credits_frame(channels: list[str], conversions: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    """``(channel, conversions, value)`` from per-code arrays (what ``_credit`` returns)."""
    return pd.DataFrame(
        {"channel": list(channels), "conversions": np.asarray(conversions, dtype=float),
         "value": np.asarray(value, dtype=float)}
    )


def check_channel_names(name: str, value: Any) -> None:
    """A parameter that lists channels must be a collection of names, not one string.

    >>> check_channel_names("organic", "organic")
    Traceback (most recent call last):
    aips.exceptions.ConfigError: organic must be a list of channel names such as ('organic',), got the string 'organic'
    """
    try:
        names = None if isinstance(value, str) else list(value)
    except TypeError:
        names = None
    if names is None or not all(isinstance(v, str) for v in names):
        shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
        raise ConfigError(f"{name} must be a list of channel names such as ('organic',), got {shown}")


class AttributionModel(Fitter, abc.ABC):
    """Base of every attribution model: ``Model(**params).fit(paths) -> self``.

    A :class:`~aips.analytics.base.Fitter`: parameters only stored by ``__init__``
    (``get_params``, ``clone``...), results in ``*_`` attributes. Subclasses set ``name``
    and implement ``_credit(paths: Paths) -> DataFrame`` with columns ``channel,
    conversions, value``: the credit rule and nothing else.

    Attributes (after :meth:`fit`):
        credits_: ``channel, conversions, value, incremental, share, value_share``, largest
            first. ``share`` is the row's part of all conversions, ``value_share`` of all
            value; ``incremental`` says whether the row estimates caused conversions (False
            for every path model: they credit reach).
        total_conversions_, total_value_: what was attributed.
    """

    name: ClassVar[str] = "model"
    incremental: ClassVar[bool] = False
    """True for models whose credits estimate caused (incremental) conversions."""
    tolerance: ClassVar[float] = 1e-6
    """Relative tolerance of the conservation check."""

    _fitted_attributes = ("credits_", "total_conversions_", "total_value_")

    # --- plumbing --------------------------------------------------------------------------

    def _prepare(self, data: Any) -> Any:
        """Turn the input into what ``_credit`` expects (parsed paths by default; pass a
        :class:`Paths` from :func:`parse_paths` to fit several models on one parse)."""
        if isinstance(data, Paths):
            return data
        return parse_paths(as_paths(data))

    def _totals(self, prepared: Any) -> tuple[float, float]:
        """Conversions and value that the credits must add up to."""
        p: Paths = prepared
        return (float(p.conversions.sum() + p.none_conversions),
                float(p.value.sum() + p.none_value))

    def _extra_rows(self, prepared: Any) -> pd.DataFrame:
        p: Paths = prepared
        if p.none_conversions == 0 and p.none_value == 0:
            return credits_frame([], [], [])
        return credits_frame([NO_TOUCH], [p.none_conversions], [p.none_value])

    @abc.abstractmethod
    def _credit(self, paths: Any) -> pd.DataFrame:  # pragma: no cover - abstract
        """The model's credit rule: per-channel credits of the parsed paths."""

    def fit(self, paths: Any) -> AttributionModel:
        """Credit the conversions of ``paths`` (see the module docstring for the layout).

        Raises:
            ConservationError: the credits do not sum to the conversions or the value.
        """
        prepared = self._prepare(paths)
        empty = isinstance(prepared, Paths) and prepared.n_paths == 0
        touched = credits_frame([], [], []) if empty else self._credit(prepared)
        out = pd.concat([touched, self._extra_rows(prepared)], ignore_index=True)
        if out["channel"].duplicated().any():
            out = out.groupby("channel", sort=False, as_index=False).sum(numeric_only=True)
        if "incremental" not in out.columns:
            out["incremental"] = self.incremental
        conv, val = self._totals(prepared)
        self._check(out["conversions"].sum(), conv, "conversions")
        self._check(out["value"].sum(), val, "value")
        out["share"] = out["conversions"] / conv if conv else 0.0
        out["value_share"] = out["value"] / val if val else 0.0
        out = out.sort_values(["conversions", "channel"], ascending=[False, True], kind="stable")
        self.credits_ = out.reset_index(drop=True)
        self.total_conversions_ = conv
        self.total_value_ = val
        return self

    def _check(self, got: float, want: float, what: str) -> None:
        if abs(got - want) > self.tolerance * max(1.0, abs(want)):
            raise ConservationError(
                f"{self.name}: credits sum to {got:.6f} {what} but the paths have {want:.6f}; "
                "this is a bug in the model, please report it"
            )
