"""The output contract (what ``aips ingest`` reads) and the truth's consistency with the data."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aips.exceptions import AipsError
from aips.simulate import CHANNELS, EVENT_TYPES, FORMATS, SimulationParams, simulate

EXPECTED_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC"))]
    + [(c, pa.string()) for c in ("user_id", "brand", "spu", "category", "event_type", "channel", "campaign_id",
                                  "creator_id", "note_id", "content_format", "keyword")]
    + [(c, pa.float64()) for c in ("dwell_s", "completion", "amount")]
)


def test_layout(world_dir):
    names = sorted(p.name for p in world_dir.iterdir())
    assert names == ["campaigns.csv", "categories.csv", "creators.csv", "events", "truth.json", "users.csv"]
    parts = sorted(p.name for p in (world_dir / "events").iterdir())
    assert parts[0] == "date=2025-09-01" and parts[-1] == "date=2025-12-29" and len(parts) == 120
    assert all(f.name.startswith("part-") for f in (world_dir / "events").rglob("*.parquet"))


def test_event_files_have_the_canonical_schema_and_no_date_column(world_dir):
    for path in list((world_dir / "events").rglob("*.parquet"))[:5]:
        assert pq.read_schema(path).equals(EXPECTED_SCHEMA), path


def test_date_partition_is_the_local_day_of_ts(con, world_dir):
    con.execute(f"""create or replace view by_file as select ts, filename
        from read_parquet('{world_dir}/events/*/*.parquet', filename = true)""")
    bad = con.execute("""select count(*) from by_file
        where strftime(timezone('Asia/Shanghai', ts), '%Y-%m-%d') != regexp_extract(filename, 'date=([0-9-]+)', 1)""").fetchone()[0]
    assert bad == 0


def test_values_are_canonical(con):
    def distinct(col):
        return {r[0] for r in con.execute(f"select distinct {col} from events").fetchall()}

    assert distinct("event_type") == set(EVENT_TYPES)
    assert distinct("channel") == set(CHANNELS) | {None}
    assert distinct("content_format") <= set(FORMATS) | {None}
    n, ids = con.execute("select count(*), count(distinct event_id) from events").fetchone()
    assert n == ids
    assert con.execute("select count(*) from events where user_id is null or brand is null or ts is null").fetchone()[0] == 0


def test_columns_are_set_where_they_belong(con):
    def count(where):
        return con.execute(f"select count(*) from events where {where}").fetchone()[0]

    assert count("amount is not null and event_type != 'purchase'") == 0
    assert count("event_type = 'purchase' and (amount is null or amount <= 0 or spu is null)") == 0
    assert count("(dwell_s is not null or completion is not null) and event_type != 'read'") == 0
    assert count("event_type = 'read' and (dwell_s is null) = (completion is null)") == 0
    assert count("completion is not null and content_format != 'video'") == 0
    assert count("keyword is not null and event_type != 'search'") == 0
    assert count("event_type = 'search' and keyword is null") == 0
    assert count("campaign_id is not null and channel = 'organic'") == 0
    assert count("channel not in ('organic') and channel is not null and campaign_id is null") == 0
    assert count("creator_id is not null and channel not in ('kol_note', 'koc_note')") == 0
    assert count("event_type = 'post' and (note_id not like 'ugc-%' or content_format is null)") == 0


def test_references_resolve(con):
    assert con.execute("select count(*) from events e anti join users u using (user_id)").fetchone()[0] == 0
    assert con.execute("""select count(*) from (select distinct campaign_id from events where campaign_id is not null)
                          anti join campaigns using (campaign_id)""").fetchone()[0] == 0
    assert con.execute("""select count(*) from (select distinct creator_id from events where creator_id is not null)
                          anti join creators using (creator_id)""").fetchone()[0] == 0
    assert con.execute("""select count(*) from (select distinct category from events)
                          anti join categories using (category)""").fetchone()[0] == 0


def test_side_tables(con):
    cats = dict(con.execute("select category, decision_cycle_days from categories").fetchall())
    assert cats == {"facial_serum": 29, "infant_food": 70, "lipstick": 14, "sunscreen": 21}
    cols = [r[0] for r in con.execute("describe users").fetchall()]
    assert cols[:5] == ["user_id", "holdout", "gender", "age_band", "city_tier"]
    assert [r[0] for r in con.execute("describe campaigns").fetchall()] == [
        "campaign_id", "brand", "category", "channel", "start_date", "end_date", "spend"]
    assert [r[0] for r in con.execute("describe creators").fetchall()] == ["creator_id", "tier", "followers", "fee"]
    assert con.execute("select count(*) from campaigns where end_date < start_date or spend < 0").fetchone()[0] == 0


def test_holdout_users_have_no_paid_events(con):
    paid = con.execute("""select count(*) from events join users using (user_id)
                          where holdout and (campaign_id is not null or channel != 'organic')""").fetchone()[0]
    assert paid == 0
    # ... although they do see the brands organically and buy.
    assert con.execute("""select count(*) from events join users using (user_id)
                          where holdout and event_type = 'purchase'""").fetchone()[0] > 0


def test_truth_counts_match_the_data(con, truth):
    counts = dict(con.execute("select event_type, count(*) from events group by 1").fetchall())
    assert counts == truth["counts"]["events_by_type"]
    imp = dict(con.execute("""select campaign_id, count(*) from events
                              where event_type = 'impression' and campaign_id is not null group by 1""").fetchall())
    for cid, c in truth["campaigns"].items():
        assert c["impressions"] == imp.get(cid, 0), cid
    spend = dict(con.execute("select campaign_id, spend from campaigns").fetchall())
    for cid, c in truth["campaigns"].items():
        assert spend[cid] == pytest.approx(c["spend"], abs=0.01)
    users = con.execute("select count(*), count(*) filter (where holdout) from users").fetchone()
    assert users == (truth["counts"]["users"], truth["counts"]["holdout_users"])


def test_truth_factual_purchases_match_the_data(con, truth):
    data = dict(con.execute("""select brand, count(*) from (
        select user_id, brand from events where event_type = 'purchase' group by all) group by 1""").fetchall())
    for brand, b in truth["brands"].items():
        assert b["factual"]["first_purchases"] == data.get(brand, 0), brand
    orders = {r[0]: r[1:] for r in con.execute(
        "select brand, count(*), sum(amount) from events where event_type = 'purchase' group by 1").fetchall()}
    for brand, b in truth["brands"].items():
        assert b["factual"]["orders"] == orders[brand][0]
        assert b["factual"]["revenue"] == pytest.approx(orders[brand][1], rel=1e-9)


def test_truth_is_json_with_the_documented_keys(truth):
    assert list(truth) == ["format", "seed", "window", "counts", "definitions", "categories", "brands", "channels",
                           "paid", "campaigns", "creators", "content_formats", "leaks", "skews", "params"]
    assert truth["format"] == "aips.simulate.truth/1" and truth["seed"] == 11
    assert SimulationParams.from_dict(truth["params"]) == SimulationParams(users=3000, days=120, seed=11)


def _digest(path):
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_output_whatever_the_workers(tmp_path):
    p = SimulationParams(users=1200, days=30, seed=4, block_users=400, blocks_per_file=2)
    simulate(tmp_path / "a", p, workers=1)
    simulate(tmp_path / "b", p, workers=2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    simulate(tmp_path / "c", p.replace(seed=5), workers=1)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_output_is_not_overwritten_by_accident(tmp_path):
    p = SimulationParams(users=100, days=5)
    simulate(tmp_path / "w", p)
    with pytest.raises(AipsError, match="exists and is not empty"):
        simulate(tmp_path / "w", p)
    result = simulate(tmp_path / "w", p.replace(seed=1), overwrite=True)
    assert json.loads((tmp_path / "w" / "truth.json").read_text())["seed"] == 1
    assert result.events == json.loads((tmp_path / "w" / "truth.json").read_text())["counts"]["events"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind
