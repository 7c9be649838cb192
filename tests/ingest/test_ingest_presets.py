"""The real samples in ../shared/data through their presets, with counts checked against
the samples' SOURCE.md and an independent pandas oracle:

    import pandas as pd
    a = pd.read_csv(".../UserBehavior_userhead_43users.csv.gz", header=None, dtype=str)
    b = pd.read_csv(".../UserBehavior_timeslice_20171126.csv.gz", header=None, dtype=str)
    len(a) - len(a.drop_duplicates()), len(b) - len(b.drop_duplicates()), len(a.merge(b))   # 0, 0, 4
    d = pd.read_csv(".../2019-Oct_head_17434.csv.gz", dtype=str, keep_default_na=False)
    kept = d[d.brand != ""]                                                            # 14,957 rows
    key = kept.assign(amount=kept.price.where(kept.event_type == "purchase", ""))[
        ["event_time", "user_id", "brand", "product_id", "category_code", "event_type", "amount"]]
    len(kept) - len(key.drop_duplicates()), (d.brand == "").sum()                     # 5, 2477
"""

from __future__ import annotations

import datetime as dt


def _counts(ws, column="event_type"):
    events = ws.store.table("events")
    rows = events.group_by(column).aggregate(n=events.count()).to_pyarrow().to_pylist()
    return {r[column]: r["n"] for r in rows}


def test_taobao(ws, tmp_path, shared_data):
    timeslice = shared_data / "taobao-userbehavior" / "UserBehavior_timeslice_20171126.csv.gz"
    userhead = shared_data / "taobao-userbehavior" / "UserBehavior_userhead_43users.csv.gz"
    report = ws.ingest(timeslice, preset="taobao", quarantine_dir=tmp_path)
    assert (report.rows_read, report.loaded, report.duplicates, report.quarantined) == (
        110_300,
        110_300,
        0,
        0,
    )
    assert _counts(ws) == {"read": 98_361, "cart": 6_063, "collect": 3_383, "purchase": 2_493}
    assert _counts(ws, "local_date") == {dt.date(2017, 11, 26): 110_300}  # 09:00-11:10 Beijing time
    events = ws.store.table("events")
    lo, hi = events.ts.min().execute(), events.ts.max().execute()
    assert (lo, hi) == (dt.datetime(2017, 11, 26, 1, 0, 0), dt.datetime(2017, 11, 26, 3, 10, 11))
    report = ws.ingest(userhead, preset="taobao", quarantine_dir=tmp_path)
    # 4 rows of the 43 users' histories fall in the time slice: already loaded
    assert (report.rows_read, report.loaded, report.duplicates, report.quarantined) == (
        4_321,
        4_317,
        4,
        0,
    )
    assert ws.store.table("events").count().execute() == 114_617
    (one,) = events.filter(events.user_id == "1", events.spu == "2268318").to_pyarrow().to_pylist()
    # 1,2268318,2520377,pv,1511544070 -- `date -u -d @1511544070`: Fri Nov 24 17:21:10 UTC 2017
    assert (one["brand"], one["event_type"], one["ts"]) == (
        "2520377",
        "read",
        dt.datetime(2017, 11, 24, 17, 21, 10),
    )
    assert one["local_date"] == dt.date(2017, 11, 25)


def test_rees46(ws, tmp_path, shared_data):
    path = shared_data / "rees46-multicategory" / "2019-Oct_head_17434.csv.gz"
    report = ws.ingest(path, preset="rees46", quarantine_dir=tmp_path)
    assert (
        report.rows_read,
        report.loaded,
        report.duplicates,
        report.ignored,
        report.quarantined,
    ) == (17_434, 14_952, 5, 0, 2_477)
    assert report.reasons == {"missing brand": 2_477}
    assert report.files[0].unused_columns == ["category_id", "user_session"]
    counts = _counts(ws)
    assert sum(counts.values()) == 14_952 and set(counts) == {"read", "cart", "purchase"}
    events = ws.store.table("events")
    with_amount = events.filter(events.amount.notnull())
    assert with_amount.count().execute() == counts["purchase"]
    assert with_amount.filter(with_amount.event_type != "purchase").count().execute() == 0
    assert events.ts.min().execute() == dt.datetime(2019, 10, 1, 0, 0)  # "... UTC" is an instant
    assert _counts(ws, "local_date") == {dt.date(2019, 10, 1): 14_952}  # 08:00-10:50 in Shanghai
