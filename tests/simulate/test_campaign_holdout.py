"""The per-campaign holdout (``campaign_holdout_share``): who is held out of what, what they
see, and the ``campaign_holdouts.csv`` side table."""

from __future__ import annotations

import numpy as np
import pytest

from aips.simulate import SimulationParams, simulate
from aips.simulate.journeys import campaign_held
from aips.simulate.world import block_users, build_world

PARAMS = SimulationParams(users=1500, days=60, seed=5, campaign_holdout_share=0.4)


@pytest.fixture(scope="module")
def held_world(tmp_path_factory, connect):
    out = tmp_path_factory.mktemp("sim") / "held"
    simulate(out, PARAMS, workers=1)
    con = connect(out)
    con.execute(f"create view holdouts as select * from read_csv('{out}/campaign_holdouts.csv')")
    return out, con


def test_held_out_users_never_see_that_campaign_but_see_the_others(held_world):
    _, con = held_world
    # impressions of a campaign by users held out of it: none
    leaked = con.sql("""select count(*) from events e join holdouts h
        on e.user_id = h.user_id and e.campaign_id = h.campaign_id
        where h.holdout and e.event_type = 'impression'""").fetchone()[0]
    assert leaked == 0
    # held out of one campaign, still shown others: most held-out rows' users have paid impressions
    shown_other = con.sql("""select avg(case when exists (select 1 from events e where e.user_id = h.user_id
        and e.campaign_id is not null and e.campaign_id <> h.campaign_id) then 1 else 0 end)
        from holdouts h where h.holdout""").fetchone()[0]
    assert shown_other > 0.8


def test_the_table_lists_every_exposed_user_once(held_world):
    _, con = held_world
    n, distinct, share = con.sql("""select count(*), count(distinct (campaign_id, user_id)), avg(holdout::int)
        from holdouts""").fetchone()
    assert n == distinct and 0.37 < share < 0.43
    # every (user, campaign) with a paid impression is in the table, not held out, and its
    # first_date is the day of its first impression (search ads may come a second later)
    rows = con.sql("""select i.first_d, h.first_date, h.holdout from
        (select user_id, campaign_id, min(d) as first_d from events
         where event_type = 'impression' and campaign_id is not null group by all) i
        left join holdouts h using (user_id, campaign_id)""").fetchall()
    assert rows and all(h is False for _, _, h in rows)
    assert sum(f == g for f, g, _ in rows) / len(rows) > 0.999
    # global holdout users are targeted by no campaign
    assert con.sql("select count(*) from holdouts join users using (user_id) where users.holdout").fetchone()[0] == 0


def test_assignment_is_a_hash_of_seed_user_and_campaign():
    world = build_world(PARAMS)
    small_blocks = build_world(PARAMS.replace(block_users=700))
    users = block_users(world, 0)
    later = block_users(small_blocks, 1)  # users 700..1399 in a world of smaller blocks
    camp = np.full(700, 3, np.int32)
    assert (campaign_held(world, users, np.arange(700, 1400), camp)
            == campaign_held(small_blocks, later, np.arange(700), camp)).all()
    other_seed = build_world(PARAMS.replace(seed=6))
    assert (campaign_held(world, users, np.arange(1500), np.full(1500, 3, np.int32))
            != campaign_held(other_seed, block_users(other_seed, 0), np.arange(1500), np.full(1500, 3, np.int32))).any()
    assert not campaign_held(world, users, np.arange(10), np.full(10, -1, np.int32)).any()  # organic


def test_off_by_default(world_dir):
    assert not (world_dir / "campaign_holdouts.csv").exists()
    with pytest.raises(Exception, match="campaign_holdout_share"):
        SimulationParams(campaign_holdout_share=1.0)
