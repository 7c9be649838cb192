"""The preset tables of the simulated world: the default categories, channels and format
effects (realistic for RED), and the preset sizes (``demo``, ``small``, ``large``).
"""

from __future__ import annotations

from typing import Any

from aips.simulate.parts import CategoryParams, ChannelParams

PRESETS: dict[str, dict[str, Any]] = {
    "demo": {"users": 4000, "days": 120},
    "small": {"users": 80_000, "days": 180, "blocks_per_file": 2},
    "large": {"users": 7_000_000, "days": 180},
}
"""Preset sizes: a user yields ~100 events over 120 days and ~150 over 180 days, so
``demo`` is ~0.4M events, ``small`` ~12M and ``large`` ~1.05B."""


def default_categories() -> tuple[CategoryParams, ...]:
    """The four default categories, their brands, SPUs, prices and audiences."""
    young_f = {"intercept": -1.6, "female": 1.8, "age_18_24": 0.9, "age_25_34": 0.4, "tier1": 0.3}
    return (
        CategoryParams(
            "facial_serum", 29, ("Lumiere", "Serava", "Auralis"),
            ("Glow Serum", "Repair Essence", "Night Ampoule"), (180.0, 680.0), 0.35, 50,
            keywords=("serum recommendation", "essence for dry skin", "anti-aging serum"),
            interest={"intercept": -1.5, "female": 1.5, "age_25_34": 0.5, "age_35_44": 0.6,
                      "tier1": 0.3},
        ),
        CategoryParams(
            "infant_food", 70, ("Nestbloom", "Tinyoak", "Mamavita"),
            ("Rice Cereal", "Fruit Puree", "Veggie Puffs"), (60.0, 220.0), 0.6, 16,
            keywords=("first solid food", "baby food brand", "organic baby puree"),
            interest={"intercept": -3.2, "has_baby": 4.0, "female": 0.5, "age_25_34": 0.3},
        ),
        CategoryParams(
            "lipstick", 14, ("Rougette", "Velvetta", "Kissora"),
            ("Matte Red", "Velvet Nude", "Gloss Tint"), (120.0, 380.0), 0.2, 60,
            keywords=("lipstick swatch", "autumn lip color", "long lasting lipstick"),
            interest=young_f,
        ),
        CategoryParams(
            "sunscreen", 21, ("Solara", "Umbrelle", "Skyshield"),
            ("Daily SPF50", "Sport Shield", "Tinted Fluid"), (80.0, 260.0), 0.3, 40,
            keywords=("sunscreen review", "spf50 for oily skin", "face sunscreen"),
            interest={"intercept": -1.0, "female": 0.9, "age_18_24": 0.3, "tier1": 0.2},
        ),
    )


def default_channels() -> dict[str, ChannelParams]:
    """The default channels: true effects, CPMs and delivery plans."""
    return {
        "feed_ad": ChannelParams(
            effect=(0.05, 0.04, 0.04, 0.0), cpm=500.0, intensity=0.05, flights_per_90_days=1.5,
            flight_days=(14, 35), formats={"image": 0.55, "video": 0.45}, notes_per_campaign=4,
        ),
        "search_ad": ChannelParams(
            effect=(0.0, 0.08, 0.09, 0.0), cpm=2500.0, intensity=0.55, flights_per_90_days=3.0,
            flight_days=(30, 30), formats={"image": 0.8, "video": 0.2}, notes_per_campaign=3,
        ),
        "kol_note": ChannelParams(
            effect=(0.14, 0.12, 0.07, 0.0), cpm=700.0, intensity=0.045, flights_per_90_days=1.0,
            flight_days=(21, 35), formats={"image": 0.35, "video": 0.5, "live": 0.15},
            notes_per_campaign=2, creators_per_campaign=(2, 4),
        ),
        "koc_note": ChannelParams(
            effect=(0.10, 0.09, 0.06, 0.06), cpm=700.0, intensity=0.04, flights_per_90_days=1.5,
            flight_days=(14, 30), formats={"image": 0.7, "video": 0.3}, notes_per_campaign=1,
            creators_per_campaign=(8, 15),
        ),
        "topic_challenge": ChannelParams(
            effect=(0.07, 0.04, 0.02, 0.25), cpm=1200.0, intensity=0.07, flights_per_90_days=0.5,
            flight_days=(10, 14), formats={"video": 0.8, "image": 0.2}, notes_per_campaign=6,
        ),
        "organic": ChannelParams(
            effect=(0.03, 0.03, 0.02, 0.02), paid=False, intensity=0.04,
            formats={"image": 0.6, "video": 0.35, "live": 0.05}, notes_per_campaign=24,
        ),
    }


def default_format_effects() -> dict[str, tuple[float, float, float, float]]:
    """True effect multipliers by content format and transition."""
    return {
        "image": (1.0, 1.1, 0.9, 1.0),
        "video": (1.3, 0.9, 1.0, 1.2),
        "live": (0.7, 1.0, 1.8, 0.8),
    }
