"""The parts of a simulated world: its vocabularies and the frozen dataclasses that
:class:`~aips.simulate.params.SimulationParams` is made of (a category, a channel, a
festival, and the leak and skew knobs of issues 7 and 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRANSITIONS: tuple[str, ...] = ("A->I", "I->TI", "TI->P", "P->S")
"""The four stage advances a channel can cause, in journey order."""

CHANNELS: tuple[str, ...] = (
    "feed_ad",
    "search_ad",
    "kol_note",
    "koc_note",
    "topic_challenge",
    "organic",
)
"""Touch-point channels. Every channel but ``organic`` is paid (campaign-delivered)."""

FORMATS: tuple[str, ...] = ("image", "video", "live")
"""Content formats of notes."""

EVENT_TYPES: tuple[str, ...] = (
    "impression",
    "read",
    "search",
    "like",
    "follow",
    "collect",
    "comment",
    "share",
    "screenshot",
    "cart",
    "store_visit",
    "purchase",
    "post",
)
"""Canonical event types the simulator writes (DESIGN section 4)."""

LATENT_STAGES: tuple[str, ...] = ("A", "I", "TI", "P", "S")
"""Latent journey stages, in order; behaviour rates below are keyed by these."""


@dataclass(frozen=True)
class CategoryParams:
    """A product category, its brands and its decision cycle."""

    name: str
    """Category name as written in events (``facial_serum``)."""
    decision_cycle_days: float
    """Median days from a user's first touch by a brand to their first purchase of it, among
    users who buy (the x of ROI(T+x)). The simulator honours it exactly by construction: a
    journey's purchase comes ``tau`` days after its first touch, ``tau`` log-normal with this
    median, and channels change *whether* users advance, not how fast."""
    brands: tuple[str, ...]
    """Brand names (competitors within the category). ``brands_per_category`` of the world
    takes the first N, inventing ``<category>_brand_<i>`` names beyond the list."""
    spus: tuple[str, ...]
    """SPU (product) name suffixes; each brand sells ``spus_per_brand`` of them."""
    price: tuple[float, float]
    """Range of SPU list prices in CNY (a brand's price tier picks within it)."""
    repurchase_prob: float
    """Probability that a buyer buys again, and again after that (geometric)."""
    repurchase_interval_days: float
    """Mean days between two purchases of the same buyer (gamma, shape 3)."""
    cycle_sigma: float = 0.55
    """Log-scale spread of the decision time ``tau``. Draws above ``cycle_cap`` x the median
    are folded back into [0.6, 1] x the cap, which leaves the median unchanged."""
    cycle_cap: float = 3.0
    """Longest decision time, in multiples of the median."""
    keywords: tuple[str, ...] = ()
    """Category search terms (``serum recommendation``)."""
    interest: dict[str, float] = field(default_factory=dict)
    """Logit coefficients of a user's interest in the category: ``intercept``, ``female``,
    ``age_18_24``, ``age_25_34``, ``age_35_44``, ``age_45_plus``, ``tier1``, ``has_baby``,
    plus standard-normal noise. Interest scales exposure (targeting) and advance hazards,
    which is what makes crowd portraits differ between categories and stages."""


@dataclass(frozen=True)
class ChannelParams:
    """A channel: its true causal effect per exposure, its cost and its delivery plan."""

    effect: tuple[float, float, float, float]
    """True causal effect of one exposure on each stage advance (A->I, I->TI, TI->P, P->S):
    the amount added to the cumulative hazard ``H`` of the advance decision when the
    exposure falls within ``hazard_window_days`` before it (advance probability
    ``1 - exp(-H)``). Scaled further by the note's format and creator."""
    paid: bool = True
    """Paid channels carry a ``campaign_id`` and are never shown to holdout users."""
    cpm: float = 0.0
    """Cost per thousand delivered *simulated* impressions (CNY); spend follows delivery.
    A simulated impression is a brand exposure that registers with the user and stands for
    several real ones, so these effective CPMs are ~10x RED's list CPMs; they make the
    campaigns' true incremental ROI land around 1-5x. For KOL/KOC notes they include the
    creators' fees."""
    intensity: float = 0.0
    """Expected impressions per user of average targeting weight per flight day
    (``search_ad``: probability that a search shows the brand's ad while a flight runs)."""
    flights_per_90_days: float = 0.0
    """Campaign flights per brand per 90 simulated days (``search_ad``: consecutive,
    non-overlapping flights cover the whole horizon)."""
    flight_days: tuple[int, int] = (14, 30)
    """Range of a flight's length in days."""
    formats: dict[str, float] = field(default_factory=lambda: {"image": 1.0})
    """Content-format mix of the channel's notes."""
    notes_per_campaign: int = 3
    """Notes (creatives) per campaign; for ``kol_note``/``koc_note`` per creator."""
    creators_per_campaign: tuple[int, int] = (0, 0)
    """Range of creators hired by one campaign (``kol_note``/``koc_note`` only)."""
    saturation: float = 0.0
    """Diminishing returns of spend (issue 17): the daily spend scale S, in CNY per 1,000
    users of the world, at which delivery reaches 63 % of its ceiling. A day's delivery is
    ``impressions = 1000 * S' / cpm * (1 - exp(-spend / S'))`` (``S' = S * users / 1000``),
    so the marginal CPM rises as the audience is exhausted, and a campaign's recorded spend
    is what its delivered impressions cost on that curve. 0 (the default): a flat CPM, the
    world as without it."""
    intensity_sigma: float = 0.25
    """Log-scale spread of campaigns' intensities around ``intensity`` (a wide spread gives
    the planner's response curves spend levels to learn from)."""


@dataclass(frozen=True)
class Festival:
    """A shopping festival: more activity before it and a purchase push on the day."""

    name: str
    """Festival name (``double_11``)."""
    month_day: tuple[int, int]
    """Month and day of the peak (11, 11)."""
    ramp_days: int = 20
    """Pre-sale days before the peak during which activity ramps up linearly."""
    peak_activity: float = 2.2
    """Activity multiplier on the peak day (1 at the start of the ramp)."""
    purchase_boost: float = 1.6
    """Multiplier of the TI->P hazard when the purchase decision falls in the ramp or peak."""


@dataclass(frozen=True)
class Leak:
    """Issue 7's "leak knob": one brand whose given stage advance is weak."""

    brand: str
    """Brand with the leak."""
    transition: str = "I->TI"
    """The weak advance (one of ``TRANSITIONS``)."""
    multiplier: float = 0.35
    """Factor on the whole hazard of that advance (baseline and channel effects)."""


@dataclass(frozen=True)
class Skew:
    """Issue 8's attribute skew: one segment advances much more easily for one brand."""

    brand: str
    """Brand whose crowd is skewed."""
    transition: str = "I->TI"
    """The advance that is easier for the segment, so the next stage's crowd skews to it."""
    segment: dict[str, str] = field(
        default_factory=lambda: {"gender": "F", "age_band": "18-24", "city_tier": "tier1"}
    )
    """User attribute values that define the segment (all must match)."""
    multiplier: float = 3.0
    """Factor on the hazard of the advance for users in the segment."""
