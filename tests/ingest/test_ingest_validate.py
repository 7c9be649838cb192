"""Every quarantine reason of the vocabulary, one row each, with its column and line."""

from __future__ import annotations

import pytest
import yaml
from ingest_helpers import BAD

from aips.ingest.validate import REASONS

EV = "ts,user_id,brand,event_type,amount,dwell_s,completion\n"
OK_EV = "2024-01-02 10:00,u1,b,read,,,\n"
CAMP = "campaign_id,brand,category,channel,start_date,end_date,spend\n"
OK_CAMP = "c0,b,,,2024-01-01,,1\n"
CAT = "category,decision_cycle_days\n"
CRE = "creator_id,tier,followers,fee\n"
USR = "user_id,holdout\n"
CH = "campaign_id,user_id,holdout,first_date\n"

# (table, header, good row, bad row, reason, column)
# fmt: off
ROWS = [
    ("events", EV, OK_EV, "2024-01-02 10:00,,b,read,,,\n", "missing user_id", "user_id"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,,read,,,\n", "missing brand", "brand"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,,,,\n", "missing event_type", "event_type"),
    ("events", EV, OK_EV, ",u1,b,read,,,\n", "missing ts", "ts"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,hop,,,\n", "unknown event type", "event_type"),
    ("events", EV, OK_EV, "2024-01-32 10:00,u1,b,read,,,\n", "unparseable timestamp", "ts"),
    ("events", EV, OK_EV, "03/04/2024 10:00,u1,b,read,,,\n", "ambiguous timestamp", "ts"),
    ("events", EV, OK_EV, "9999-12-31 10:00,u1,b,read,,,\n", "future timestamp", "ts"),
    ("events", EV, OK_EV, "1999-12-31 10:00,u1,b,read,,,\n", "timestamp before min_date", "ts"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,purchase,x,,\n", "non-numeric amount", "amount"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,purchase,-0.01,,\n", "negative amount", "amount"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,purchase,1e309,,\n", "non-finite amount", "amount"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,5s,\n", "non-numeric dwell_s", "dwell_s"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,-3,\n", "negative dwell_s", "dwell_s"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999,\n", "non-finite dwell_s", "dwell_s"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,,50%\n", "non-numeric completion", "completion"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,,-0.5\n", "completion out of range", "completion"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read,,,1e999\n", "non-finite completion", "completion"),
    ("events", EV, OK_EV, "2024-01-02 10:00,u1,b,read\n", "ragged row", ""),
    ("campaigns", CAMP, OK_CAMP, ",b,,,2024-01-01,,1\n", "missing campaign_id", "campaign_id"),
    ("campaigns", CAMP, OK_CAMP, "c1,,,,2024-01-01,,1\n", "missing brand", "brand"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,,,1\n", "missing start_date", "start_date"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,someday,,1\n", "unparseable start_date", "start_date"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,2024-01-01,2024-02-30,1\n", "unparseable end_date", "end_date"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,2024-01-05,2024-01-04,1\n", "end_date before start_date", "end_date"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,2024-01-01,,lots\n", "non-numeric spend", "spend"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,2024-01-01,,-1\n", "negative spend", "spend"),
    ("campaigns", CAMP, OK_CAMP, "c1,b,,,2024-01-01,,2e308\n", "non-finite spend", "spend"),
    ("categories", CAT, "toys,30\n", ",30\n", "missing category", "category"),
    ("categories", CAT, "toys,30\n", "shoes,\n", "missing decision_cycle_days", "decision_cycle_days"),
    ("categories", CAT, "toys,30\n", "shoes,a month\n", "non-numeric decision_cycle_days", "decision_cycle_days"),
    ("categories", CAT, "toys,30\n", "shoes,0\n", "decision_cycle_days out of range", "decision_cycle_days"),
    ("categories", CAT, "toys,30\n", "shoes,1e309\n", "non-finite decision_cycle_days", "decision_cycle_days"),
    ("creators", CRE, "k0,KOL,10,1\n", ",KOL,10,1\n", "missing creator_id", "creator_id"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,many,1\n", "non-numeric followers", "followers"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,-10,1\n", "negative followers", "followers"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,10.5,1\n", "followers out of range", "followers"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,1e309,1\n", "non-finite followers", "followers"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,10,free\n", "non-numeric fee", "fee"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,10,-5\n", "negative fee", "fee"),
    ("creators", CRE, "k0,KOL,10,1\n", "k1,KOC,10,1e309\n", "non-finite fee", "fee"),
    ("users", USR, "u0,false\n", ",true\n", "missing user_id", "user_id"),
    ("users", USR, "u0,false\n", "u1,perhaps\n", "unparseable holdout", "holdout"),
    ("campaign_holdouts", CH, "c0,u0,true,2024-01-02\n", ",u1,true,\n", "missing campaign_id", "campaign_id"),
    ("campaign_holdouts", CH, "c0,u0,true,2024-01-02\n", "c0,,true,\n", "missing user_id", "user_id"),
    ("campaign_holdouts", CH, "c0,u0,true,2024-01-02\n", "c0,u1,,\n", "missing holdout", "holdout"),
    ("campaign_holdouts", CH, "c0,u0,true,2024-01-02\n", "c0,u1,no,2024-13-01\n", "unparseable first_date", "first_date"),
]
# fmt: on


@pytest.mark.parametrize("table", ["events", "campaigns", "categories", "creators", "users",
                                   "campaign_holdouts"])
def test_reasons(ws, tmp_path, table):
    """One file per table: a good row, then one bad row per reason (line 3, 4, ...)."""
    rows = [r for r in ROWS if r[0] == table]
    header, good = rows[0][1], rows[0][2]
    path = tmp_path / "in.csv"
    path.write_text(header + good + "".join(r[3] for r in rows), encoding="utf-8")
    report = ws.ingest(path, table=table, quarantine_dir=tmp_path)
    assert (report.loaded, report.quarantined) == (1, len(rows))
    got = ws.store.table("quarantine").order_by("source_line").to_pyarrow().to_pylist()
    expected = [(line, r[5], r[4], r[3].rstrip("\n")) for line, r in enumerate(rows, 3)]
    assert [(q["source_line"], q["column_name"], q["reason"], q["raw"]) for q in got] == expected


def test_vocabulary_is_covered():
    """Each reason of REASONS is produced by a test above or by the corpus; nothing else is produced."""
    cases = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
    seen = {r[4] for r in ROWS}
    for case in cases:
        seen |= set((case.get("expect") or {}).get("reasons", {}))
    assert seen == set(REASONS)


def test_typed_values_land_typed(ws, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CAT + "toys,30\nbags,45.0\n" + "", encoding="utf-8")
    ws.ingest(path, table="categories", quarantine_dir=tmp_path)
    rows = ws.store.table("categories").order_by("category").to_pyarrow().to_pylist()
    assert rows == [
        {"category": "bags", "decision_cycle_days": 45},
        {"category": "toys", "decision_cycle_days": 30},
    ]


def test_campaign_holdouts_key_is_campaign_and_user(ws, tmp_path):
    """The key is (campaign_id, user_id): one user in two campaigns is two rows; a repeated
    pair keeps its first row, in the file and against the store."""
    path = tmp_path / "h.csv"
    path.write_text(CH + "c1,u1,true,2024-01-02\nc2,u1,false,2024-01-03\nc1,u1,false,2024-01-09\n",
                    encoding="utf-8")
    report = ws.ingest(path, table="campaign_holdouts", quarantine_dir=tmp_path)
    assert (report.loaded, report.duplicates) == (2, 1)
    again = tmp_path / "h2.csv"
    again.write_text(CH + "c2,u1,true,2024-01-05\nc2,u2,false,\n", encoding="utf-8")
    assert ws.ingest(again, table="campaign_holdouts", quarantine_dir=tmp_path).loaded == 1
    rows = ws.store.table("campaign_holdouts").order_by(["campaign_id", "user_id"]).to_pyarrow().to_pylist()
    assert [(r["campaign_id"], r["user_id"], r["holdout"], str(r["first_date"])) for r in rows] == [
        ("c1", "u1", True, "2024-01-02"), ("c2", "u1", False, "2024-01-03"), ("c2", "u2", False, "None"),
    ]


def test_users_extra_columns_are_kept(ws, tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("user_id,holdout,city_tier,gender\nu1,yes,1,f\nu2,否,2,m\n", encoding="utf-8")
    ws.ingest(path, table="users", quarantine_dir=tmp_path)
    rows = ws.store.table("users").order_by("user_id").to_pyarrow().to_pylist()
    assert rows == [
        {"user_id": "u1", "holdout": True, "city_tier": "1", "gender": "f"},
        {"user_id": "u2", "holdout": False, "city_tier": "2", "gender": "m"},
    ]
    other = tmp_path / "u2.csv"
    other.write_text("user_id,holdout,age_band\nu3,no,18-24\n", encoding="utf-8")
    with pytest.raises(Exception, match="the users table has no column"):
        ws.ingest(other, table="users", quarantine_dir=tmp_path)
