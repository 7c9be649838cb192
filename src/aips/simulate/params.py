"""Every knob of the simulated world, in one documented, frozen dataclass.

:class:`SimulationParams` describes a Xiaohongshu-like platform: users with attributes
and category interests, categories with decision cycles, brands with SPUs, channels with a
true causal effect on each stage advance, campaigns, creators, notes, the calendar and the
behaviour emitted at each latent stage. Presets (``demo``, ``small``, ``large``) only
change the size of the world; the defaults are meant to be realistic for RED.

Parameters round-trip through plain dicts and YAML, so a world can be described in a file::

    >>> p = SimulationParams.preset("demo")
    >>> p.users, p.days, [c.name for c in p.categories]
    (4000, 120, ['facial_serum', 'infant_food', 'lipstick', 'sunscreen'])
    >>> SimulationParams.from_dict(p.to_dict()) == p
    True
    >>> p.replace(users=100).users
    100

The parts a world is made of (categories, channels, festivals, leak and skew knobs) are in
:mod:`aips.simulate.parts`, their default tables and the preset sizes in
:mod:`aips.simulate.presets`. The causal model (what "a
channel's effect" means) is explained in :mod:`aips.simulate.journeys`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aips.exceptions import ConfigError
from aips.simulate.parts import (
    CHANNELS,
    FORMATS,
    TRANSITIONS,
    CategoryParams,
    ChannelParams,
    Festival,
    Leak,
    Skew,
)
from aips.simulate.presets import (
    PRESETS,
    default_categories,
    default_channels,
    default_format_effects,
)


@dataclass(frozen=True)
class SimulationParams:
    """The whole simulated world. Frozen; derive variants with :meth:`replace`.

    Fields come in groups: size and calendar (``users`` .. ``holdout_share``), the world
    (categories, brands, channels, formats, creators), the causal journey model (baseline
    hazards, hazard window, decision clock, leak and skew knobs), users' attributes,
    behaviour by latent stage, the calendar's rhythms, and output layout. Every field is
    documented below; ``truth.json`` records them all under ``params``.

    >>> p = SimulationParams(users=1000, days=60, seed=3)
    >>> p.channels["kol_note"].effect  # per-exposure hazard for A->I, I->TI, TI->P, P->S
    (0.14, 0.12, 0.07, 0.0)
    >>> p.n_blocks
    1
    """

    users: int = 5000
    """Number of users."""
    days: int = 120
    """Simulated days, starting at ``start_date`` (local calendar days)."""
    start_date: str = "2025-09-01"
    """First simulated local day (ISO date). The default puts Double 11 in the window."""
    timezone: str = "Asia/Shanghai"
    """Time zone of the local calendar (days, hours of activity, the date partitions)."""
    seed: int = 0
    """Master seed: the same seed and parameters give byte-identical output."""
    holdout_share: float = 0.10
    """Share of users never shown paid ads (``users.holdout``), for incrementality."""
    campaign_holdout_share: float = 0.0
    """Share of each paid campaign's would-be audience held out of *that* campaign only,
    drawn independently per (user, campaign): held-out users get the campaign's exposures
    as ghosts (never shown, no effect) and see every other campaign. The assignment of every
    targeted user is written to ``campaign_holdouts.csv`` (a per-campaign incremental ROI
    contrast). 0 (the default) keeps the world as without it."""

    # --- world --------------------------------------------------------------------------
    categories: tuple[CategoryParams, ...] = field(default_factory=default_categories)
    """Categories (decision cycles, brands, SPUs, prices, keywords, audiences)."""
    brands_per_category: int = 3
    """Competing brands per category."""
    spus_per_brand: int = 3
    """SPUs (products) per brand."""
    channels: dict[str, ChannelParams] = field(default_factory=default_channels)
    """Channels by name (``CHANNELS``): true effects, costs and delivery plans."""
    format_effects: dict[str, tuple[float, float, float, float]] = field(
        default_factory=default_format_effects
    )
    """True multiplier of a note's effect by content format and transition: formats differ
    by stage (video seeds awareness, live converts)."""
    kol_count: int = 40
    """KOL creators in the world (followers 100k-5M)."""
    koc_count: int = 300
    """KOC creators in the world (followers 1k-50k)."""
    creator_seeding_sigma: float = 0.6
    """Log-scale spread of creators' true seeding multipliers (median 1), independent of
    their follower counts: big accounts are not necessarily the best seeders."""
    creator_fee_per_follower: float = 0.08
    """Creators' list fee per note in CNY per follower (``creators.csv`` ``fee``, at platform
    scale; simulated campaigns pay per delivered impression, see ``ChannelParams.cpm``)."""

    # --- causal journey model -----------------------------------------------------------
    base_hazard: tuple[float, float, float, float] = (0.2, 0.28, 0.35, 0.05)
    """Cumulative hazard of each advance without any exposure in the window (users also
    move on their own), before the user's interest and brand multipliers."""
    hazard_window_days: float = 14.0
    """Exposures within this many days before an advance decision add their effect."""
    stage_fractions: tuple[tuple[float, float], tuple[float, float]] = ((1.2, 7.0), (2.5, 2.0))
    """Beta parameters of when the I and the TI decisions fall within the decision time:
    I at ``f_I * tau`` with ``f_I ~ Beta(*first)``, TI at ``f_I + (1 - f_I) * Beta(*second)``
    of ``tau``; the purchase decision is at ``tau``."""
    post_delay_days: float = 8.0
    """Median days from purchase to the S (post) decision (log-normal, sigma 0.7)."""
    leaks: tuple[Leak, ...] = (Leak("Serava", "I->TI", 0.35),)
    """Brands with a weak stage advance (issue 7), recorded in ``truth.json``. Knobs naming
    a brand that is not in the world (fewer brands per category) are ignored."""
    skews: tuple[Skew, ...] = (Skew("Velvetta"),)
    """Segments advancing more easily for a brand (issue 8), recorded in ``truth.json``."""

    # --- users --------------------------------------------------------------------------
    gender_mix: dict[str, float] = field(default_factory=lambda: {"F": 0.7, "M": 0.3})
    """Gender shares (RED's audience is mostly female)."""
    age_mix: dict[str, float] = field(
        default_factory=lambda: {"18-24": 0.30, "25-34": 0.45, "35-44": 0.17, "45+": 0.08}
    )
    """Age-band shares."""
    tier_mix: dict[str, float] = field(
        default_factory=lambda: {"tier1": 0.30, "tier2": 0.35, "tier3": 0.20, "tier4": 0.15}
    )
    """City-tier shares."""
    has_baby_by_age: dict[str, float] = field(
        default_factory=lambda: {"18-24": 0.05, "25-34": 0.30, "35-44": 0.30, "45+": 0.04}
    )
    """Probability of having a baby (the infant-food audience) by age band."""
    activity_sigma: float = 0.9
    """Log-scale spread of users' activity (mean 1): heavy users see and do more."""

    # --- behaviour by latent stage (A, I, TI, P, S) --------------------------------------
    read_rate: tuple[float, ...] = (0.0, 0.30, 0.50, 0.15, 0.15)
    """Probability that an impression is opened (a ``read``) by latent stage; A users do not
    open notes (their first read is the move to I)."""
    deep_read: tuple[float, ...] = (0.0, 0.06, 0.55, 0.3, 0.3)
    """Probability that a read is deep (dwell >= 5 s on image/live, completion >= 0.5 on
    video) by latent stage."""
    engage: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {
            "like": (0.0, 0.18, 0.30, 0.20, 0.25),
            "follow": (0.0, 0.02, 0.05, 0.03, 0.05),
            "collect": (0.0, 0.0, 0.30, 0.05, 0.05),
            "comment": (0.0, 0.0, 0.05, 0.03, 0.05),
            "share": (0.0, 0.0, 0.04, 0.02, 0.05),
            "screenshot": (0.0, 0.0, 0.05, 0.01, 0.01),
        }
    )
    """Probability of each interaction given a read, by latent stage (TI-level
    interactions never happen before TI, so the stage engine sees the latent stage)."""
    stalled_factor: float = 0.4
    """Engagement multiplier once a user failed their next advance (the journey stalls)."""
    search_rate: tuple[float, float] = (0.04, 0.2)
    """Brand searches per day in the I and in the TI stage (x sqrt(activity))."""
    search_read: float = 0.7
    """Probability that a TI user opens a result after a search (I users do not)."""
    keyword_mix: dict[str, float] = field(
        default_factory=lambda: {"brand": 0.4, "spu": 0.25, "category": 0.25, "competitor": 0.1}
    )
    """Kinds of search terms typed (brand, SPU, category and competitor terms)."""
    on_platform_share: float = 0.4
    """Share of purchases made on the platform (the rest flow back from other stores)."""
    store_visit_before_offsite: float = 0.6
    """Probability that an off-platform purchase is preceded by a ``store_visit``."""
    post_formats: dict[str, float] = field(default_factory=lambda: {"image": 0.7, "video": 0.3})
    """Formats of users' own notes (``post`` events)."""

    # --- calendar -----------------------------------------------------------------------
    weekday_activity: tuple[float, ...] = (0.95, 0.95, 0.97, 1.0, 1.05, 1.15, 1.12)
    """Activity multiplier Monday..Sunday."""
    hour_activity: tuple[float, ...] = (
        2, 1, 0.6, 0.4, 0.3, 0.4, 1, 2, 3, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 4.5, 5, 6, 7, 6.5, 4
    )
    """Relative activity by local hour 0..23 (evening peak)."""
    festivals: tuple[Festival, ...] = (
        Festival("double_11", (11, 11)),
        Festival("618", (6, 18), peak_activity=1.8, purchase_boost=1.4),
    )
    """Shopping festivals (activity peak and purchase push)."""

    # --- output -------------------------------------------------------------------------
    block_users: int = 20_000
    """Users simulated together: a worker's memory is ~0.8 GB per 20k users over 180 days.
    Output is a function of the parameters only: the worker count never changes it."""
    blocks_per_file: int = 8
    """Consecutive blocks written into one Parquet file per day (one row group each)."""
    compression: str = "zstd"
    """Parquet compression codec."""

    # ------------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        def bad(path: str, msg: str) -> ConfigError:
            return ConfigError(msg, path=f"simulate.{path}")

        if self.users < 1:
            raise bad("users", f"at least one user is needed, got {self.users}")
        if self.days < 1:
            raise bad("days", f"at least one day is needed, got {self.days}")
        try:
            dt.date.fromisoformat(self.start_date)
        except ValueError:
            raise bad("start_date", f"not an ISO date (YYYY-MM-DD): {self.start_date!r}") from None
        if not 0.0 <= self.holdout_share < 1.0:
            raise bad("holdout_share", f"must be in [0, 1), got {self.holdout_share}")
        if not 0.0 <= self.campaign_holdout_share < 1.0:
            raise bad("campaign_holdout_share", f"must be in [0, 1), got {self.campaign_holdout_share}")
        if self.brands_per_category < 1 or self.spus_per_brand < 1:
            raise bad("brands_per_category", "brands and SPUs per brand must be >= 1")
        if not self.categories:
            raise bad("categories", "at least one category is needed")
        for cat in self.categories:
            if cat.decision_cycle_days <= 0:
                raise bad(f"categories.{cat.name}", "decision_cycle_days must be > 0")
        missing = [c for c in CHANNELS if c not in self.channels]
        extra = [c for c in self.channels if c not in CHANNELS]
        if missing or extra:
            raise bad("channels", f"expected exactly {', '.join(CHANNELS)}; "
                      f"missing {missing}, unknown {extra}")
        for name, ch in self.channels.items():
            if len(ch.effect) != 4 or min(ch.effect) < 0:
                raise bad(f"channels.{name}.effect", "four non-negative numbers (A->I .. P->S)")
            if any(f not in FORMATS for f in ch.formats):
                raise bad(f"channels.{name}.formats", f"formats are {', '.join(FORMATS)}")
        if self.channels["organic"].paid:
            raise bad("channels.organic.paid", "organic cannot be paid")
        for i, knob in enumerate((*self.leaks, *self.skews)):
            if knob.transition not in TRANSITIONS:
                raise bad(f"leaks/skews.{i}.transition", f"one of {', '.join(TRANSITIONS)}")
        for name, vec in (("read_rate", self.read_rate), ("deep_read", self.deep_read)):
            if len(vec) != 5:
                raise bad(name, "five probabilities, for stages A, I, TI, P, S")
        if self.block_users < 1 or self.blocks_per_file < 1:
            raise bad("block_users", "block_users and blocks_per_file must be >= 1")

    # --- derived ------------------------------------------------------------------------

    def brand_names(self) -> list[str]:
        """Brand names in world order (category by category).

        >>> SimulationParams(brands_per_category=2).brand_names()[:4]
        ['Lumiere', 'Serava', 'Nestbloom', 'Tinyoak']
        """
        names = []
        for cat in self.categories:
            for i in range(self.brands_per_category):
                names.append(cat.brands[i] if i < len(cat.brands) else f"{cat.name}_brand_{i + 1}")
        return names

    @property
    def n_blocks(self) -> int:
        """Number of user blocks."""
        return -(-self.users // self.block_users)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def preset(cls, name: str = "demo", **overrides: Any) -> SimulationParams:
        """A preset world: ``demo`` (~0.4M events, seconds), ``small`` (~12M events) or
        ``large`` (~1.05B events).

        >>> SimulationParams.preset("large").users
        7000000
        """
        try:
            sizes = PRESETS[name]
        except KeyError:
            raise ConfigError(f"unknown preset {name!r} (one of {', '.join(PRESETS)})") from None
        return cls(**{**sizes, **overrides})

    def replace(self, **changes: Any) -> SimulationParams:
        """A copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON/YAML-ready data (tuples become lists)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationParams:
        """Build from :meth:`to_dict` output, or a partial dict: missing keys keep their defaults
        (also within ``channels``: ``{"channels": {"feed_ad": {"cpm": 300}}}`` changes one CPM)."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)}", path="simulate")
        if "categories" in data:
            data["categories"] = tuple(_build(CategoryParams, c) for c in data["categories"])
        if "channels" in data:
            defaults = default_channels()
            given = {
                k: dataclasses.replace(defaults[k], **_tuples(v)) if k in defaults
                else _build(ChannelParams, v)
                for k, v in data["channels"].items()
            }
            data["channels"] = {**defaults, **given}
        if "festivals" in data:
            data["festivals"] = tuple(_build(Festival, f) for f in data["festivals"])
        if "leaks" in data:
            data["leaks"] = tuple(_build(Leak, x) for x in data["leaks"])
        if "skews" in data:
            data["skews"] = tuple(_build(Skew, x) for x in data["skews"])
        if "format_effects" in data:
            data["format_effects"] = {k: tuple(v) for k, v in data["format_effects"].items()}
        if "stage_fractions" in data:
            data["stage_fractions"] = tuple(tuple(x) for x in data["stage_fractions"])
        if "engage" in data:
            data["engage"] = {k: tuple(v) for k, v in data["engage"].items()}
        for key, value in list(data.items()):
            if isinstance(value, list):
                data[key] = tuple(value)
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SimulationParams:
        """Load parameters from a YAML file (keys as in :meth:`to_dict`; all optional)."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read simulation parameters {path}: {err}") from None
        preset = data.pop("preset", None)
        base = cls.preset(preset).to_dict() if preset else {}
        return cls.from_dict({**base, **data})

    def to_yaml(self) -> str:
        """The parameters as YAML text (loadable with :meth:`from_yaml`)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def _build(kind: type, data: Any) -> Any:
    if isinstance(data, kind):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping for {kind.__name__}, got {data!r}")
    data = _tuples(data)
    if kind is Festival:
        data["month_day"] = tuple(data["month_day"])
    try:
        return kind(**data)
    except TypeError as err:
        raise ConfigError(f"{kind.__name__}: {err}") from None
