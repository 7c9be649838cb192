"""Statistical checks of the simulated world against its configured truth (fixed seeds).

Plausible proportions the default world produces (documented in bench/README.md and checked
below), on the last simulated day under the default stage rules of DESIGN section 2, among
(user, brand) pairs that have a level:

    A 80-95 %   I 3-12 %   TI 0.8-5 %   P 0.4-3 %   S 0.2-2 %

and, over all events: impressions 80-92 %, reads 4-10 %, searches 2-6 %, likes 0.5-2 %,
collects 0.2-1 %, purchases 0.2-1 %, posts 0.02-0.2 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from aips.simulate import SimulationParams, simulate
from aips.simulate.params import ChannelParams

STAGES_SQL = """
with c as (
  select user_id, brand, e.category,
    count(*) filter (where event_type = 'impression' and d > last_day - 30) as imp,
    count(*) filter (where event_type in ('read', 'like', 'follow', 'search') and d > last_day - 30) as i_n,
    count(*) filter (where event_type = 'read' and (dwell_s >= 5 or completion >= 0.5) and d > last_day - 30) as deep,
    count(*) filter (where event_type in ('collect', 'comment', 'share', 'screenshot', 'cart', 'store_visit')
                     and d > last_day - 30) as ti_n,
    count(*) filter (where event_type = 'search' and d > last_day - 30) as s_n,
    count(*) filter (where event_type = 'read' and d > last_day - 30) as r_n,
    count(*) filter (where event_type = 'purchase' and d > last_day - cast(k.decision_cycle_days as integer)) as p_n,
    count(*) filter (where event_type = 'post' and d > last_day - 365) as post_n
  from events e join categories k using (category), (select max(d) as last_day from events)
  group by all
)
select case when post_n > 0 then 'S' when p_n > 0 then 'P'
            when deep >= 2 or ti_n >= 1 or (s_n >= 1 and r_n >= 1) then 'TI'
            when i_n >= 1 then 'I' when imp >= 1 then 'A' end as stage, brand, count(*) as n
from c group by all
"""


def test_stage_proportions_are_plausible(con):
    rows = con.execute(STAGES_SQL).fetchall()
    total = sum(n for s, _, n in rows if s)
    share = {s: sum(n for t, _, n in rows if t == s) / total for s in ("A", "I", "TI", "P", "S")}
    bounds = {"A": (0.80, 0.95), "I": (0.03, 0.12), "TI": (0.008, 0.05), "P": (0.004, 0.03), "S": (0.002, 0.02)}
    for stage, (lo, hi) in bounds.items():
        assert lo <= share[stage] <= hi, (stage, share)


def test_event_mix_is_plausible(truth):
    counts = truth["counts"]["events_by_type"]
    total = sum(counts.values())
    bounds = {"impression": (0.80, 0.92), "read": (0.04, 0.10), "search": (0.02, 0.06), "like": (0.005, 0.02),
              "collect": (0.002, 0.01), "purchase": (0.002, 0.01), "post": (0.0002, 0.002)}
    for kind, (lo, hi) in bounds.items():
        assert lo <= counts[kind] / total <= hi, (kind, counts[kind] / total)
    assert all(counts[k] > 0 for k in counts)


def test_observed_stages_track_the_latent_journeys(con, truth):
    """Pairs with a TI signal in the data are about the pairs whose latent journey reached TI."""
    ti = con.execute("""select count(*) from (select user_id, brand from events
        where event_type in ('collect', 'comment', 'share', 'screenshot', 'cart', 'store_visit') group by all)""").fetchone()[0]
    latent = sum(b["funnel"]["reached"]["TI"] for b in truth["brands"].values())
    assert 0.7 < ti / latent < 1.3


@pytest.fixture(scope="module")
def long_world(tmp_path_factory, connect):
    """300 days, so that infant food's 70-day cycle (capped at 210 days) is fully observed."""
    out = tmp_path_factory.mktemp("sim") / "long"
    simulate(out, SimulationParams(users=7000, days=300, brands_per_category=2, seed=5), workers=1)
    return connect(out)


@pytest.mark.slow
def test_realised_decision_cycles_match_the_configuration(long_world):
    """Median days from a user's first brand event to their first purchase, among non-holdout
    buyers whose journey started early enough to be fully observed, is within 10 % of the
    configured cycle."""
    con = long_world
    rows = con.execute("""
        with firsts as (
          select user_id, brand, any_value(category) as category, min(ts) as first_ts,
                 min(ts) filter (where event_type = 'purchase') as first_buy
          from events group by all)
        select category, count(*), median(epoch(first_buy - first_ts) / 86400)
        from firsts join users using (user_id) join categories k using (category),
             (select max(ts) as end_ts from events)
        where not holdout and first_buy is not null
          and first_ts <= end_ts - to_days(cast(3 * k.decision_cycle_days as integer))
        group by 1""").fetchall()
    cycles = {"facial_serum": 29, "infant_food": 70, "lipstick": 14, "sunscreen": 21}
    assert {r[0] for r in rows} == set(cycles)
    for category, n, median in rows:
        assert n >= 150, category
        assert abs(median / cycles[category] - 1) < 0.10, (category, median, n)


def test_truth_records_cycles(truth):
    for _name, c in truth["categories"].items():
        assert c["true_cycle"]["median_days"] == pytest.approx(c["decision_cycle_days"])
        assert c["true_cycle"]["p80_days"] > c["decision_cycle_days"]


def test_holdout_contrast_estimates_the_true_paid_effect(con, truth):
    """(exposed rate - holdout rate) x exposed users, from the data alone, recovers the truth's
    incremental first purchases of all paid channels together."""
    rates = dict(con.execute("""
        select u.holdout, count(distinct (e.user_id, e.brand)) / any_value(n)
        from events e join users u using (user_id)
        join (select holdout, count(*) as n from users group by 1) g on g.holdout = u.holdout
        where e.event_type = 'purchase' group by 1""").fetchall())
    exposed = truth["paid"]["holdout"]["users"]["exposed"]
    estimate = (rates[False] - rates[True]) * exposed
    true = truth["paid"]["incremental"]["first_purchases"]
    assert estimate == pytest.approx(truth["paid"]["holdout"]["estimated_incremental_first_purchases"], rel=1e-6)
    assert abs(estimate / true - 1) < 0.25, (estimate, true)
    assert 0.3 < true / sum(b["factual"]["first_purchases"] for b in truth["brands"].values()) < 0.9


def test_incrementality_is_positive_and_consistent(truth):
    for name, ch in truth["channels"].items():
        inc = ch["incremental"]
        assert inc["first_purchases"] > 0 and inc["expected_first_purchases"] > 0, name
        # Realised (common random numbers) and exact expectation agree.
        assert inc["first_purchases"] == pytest.approx(inc["expected_first_purchases"], rel=0.2, abs=10), name
    paid = truth["paid"]["incremental"]["expected_first_purchases"]
    single = sum(truth["channels"][c]["incremental"]["expected_first_purchases"]
                 for c in ("feed_ad", "search_ad", "kol_note", "koc_note", "topic_challenge"))
    assert paid <= single * 1.05  # removing all at once: effects overlap, never more than the sum
    per_campaign = sum(c["incremental"]["expected_first_purchases"] for c in truth["campaigns"].values())
    assert per_campaign == pytest.approx(single, rel=0.25)


@pytest.fixture(scope="module")
def ranked_world(tmp_path_factory, connect):
    """Push channels with identical delivery (one flight over the whole window) and stage profile,
    differing only in strength."""
    base = SimulationParams()
    strength = {"feed_ad": 0.5, "kol_note": 2.0, "koc_note": 1.5, "topic_challenge": 1.0, "organic": 0.25}
    channels = dict(base.channels)
    for name, s in strength.items():
        channels[name] = ChannelParams(
            effect=(0.08 * s, 0.08 * s, 0.08 * s, 0.0), paid=name != "organic", cpm=500.0, intensity=0.05,
            flights_per_90_days=0.0 if name == "organic" else 1.0, flight_days=(90, 90), formats={"image": 1.0})
    params = base.replace(
        users=6000, days=90, seed=21, channels=channels, creator_seeding_sigma=0.0,
        format_effects={f: (1.0, 1.0, 1.0, 1.0) for f in ("image", "video", "live")}, leaks=(), skews=())
    out = tmp_path_factory.mktemp("sim") / "ranked"
    simulate(out, params, workers=1)
    return strength, connect(out), __import__("json").loads((out / "truth.json").read_text())


def test_channels_realised_incremental_effects_rank_as_configured(ranked_world):
    strength, _, truth = ranked_world
    per_1k = {c: truth["channels"][c]["incremental_per_1k_impressions"]["first_purchases"] for c in strength}
    assert sorted(per_1k, key=per_1k.get) == sorted(strength, key=strength.get), per_1k


def test_leak_brand_leaks_at_its_stage(con, truth):
    leak = truth["leaks"][0]
    assert (leak["brand"], leak["transition"]) == ("Serava", "I->TI")
    assert leak["advance_rate"] < 0.6 * leak["peer_advance_rate"]
    # Observable in the data: share of the brand's interested pairs that show a TI signal.
    rows = dict(con.execute("""
        with p as (select brand, user_id,
            bool_or(event_type in ('read', 'like', 'follow', 'search')) as i,
            bool_or(event_type in ('collect', 'comment', 'share', 'screenshot')) as ti
          from events where category = 'facial_serum' group by all)
        select brand, count(*) filter (where ti) / count(*) filter (where i) from p group by 1""").fetchall())
    peers = [v for b, v in rows.items() if b != "Serava"]
    assert rows["Serava"] < 0.75 * min(peers), rows


def test_skewed_brand_ti_crowd_is_young_female_tier1(con, truth):
    skew = truth["skews"][0]
    assert skew["brand"] == "Velvetta" and skew["tgi"]["TI"] > 150
    tgi = con.execute("""
        with p as (select e.user_id, bool_or(event_type in ('collect', 'comment', 'share', 'screenshot')) as ti
                   from events e where brand = 'Velvetta' group by all),
        s as (select p.*, (gender = 'F' and age_band = '18-24' and city_tier = 'tier1') as seg
              from p join users using (user_id))
        select avg(seg::int) filter (where ti) / avg(seg::int) from s""").fetchone()[0]
    assert tgi > 1.3, tgi


def test_crowd_portraits_differ_between_categories(truth):
    def share(brand, attr, value, stage="A"):
        p = truth["brands"][brand]["portrait"][stage][attr]
        return p[value] / sum(p.values())

    assert share("Rougette", "age_band", "18-24") > share("Nestbloom", "age_band", "18-24")
    assert share("Lumiere", "gender", "F") > share("Solara", "gender", "F")


def test_festival_and_weekly_rhythm_show_in_the_data(con):
    daily = dict(con.execute("select d, count(*) from events where event_type = 'impression' group by 1").fetchall())
    days = sorted(daily)
    counts = np.array([daily[d] for d in days], float)
    weekend = np.array([d.weekday() >= 5 for d in days])
    october = np.array([d.month == 10 and d.day < 15 for d in days])
    assert counts[weekend & october].mean() > counts[~weekend & october].mean()
    peak = [i for i, d in enumerate(days) if d.month == 11 and 8 <= d.day <= 11]
    assert counts[peak].mean() > 1.3 * counts[october].mean()
    orders = dict(con.execute("select d, count(*) from events where event_type = 'purchase' group by 1").fetchall())
    festival = np.mean([orders.get(d, 0) for d in days if d.month == 11 and 8 <= d.day <= 11])
    before = np.mean([orders.get(d, 0) for d in days if d.month == 11 and 1 <= d.day <= 5])
    assert festival > before
