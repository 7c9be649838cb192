"""Write the bad-input corpus of tests/data/bad/ and its README table.

Run from the repository root:  python tests/data/bad/make_corpus.py
The files are committed; this script documents exactly how each one was made, and
rebuilds README.md from cases.yaml (the expected outcome of every file).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import yaml

HERE = Path(__file__).parent
H = "ts,user_id,brand,event_type,amount\n"


def text(name: str, content: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(content.encode(encoding))


def raw(name: str, content: bytes) -> None:
    (HERE / name).write_bytes(content)


def make() -> None:
    text(
        "wrong_delimiter.csv",
        H
        + "2024-01-02 10:00;u1;b;read;\n2024-01-02 11:00;u2;b;read;\n2024-01-02 12:00,u3,b,read,\n",
    )
    text(
        "semicolon_delimiter.csv",
        H.replace(",", ";") + "2024-01-02 10:00;u1;b;read;\n2024-01-02 11:00;u2;b;purchase;3,5\n",
    )
    text("missing_required_column.csv", "ts,user_id,event_type\n2024-01-02 10:00,u1,read\n")
    text("header_only.csv", H)
    text("empty.csv", "")
    text("only_blank_lines.csv", "\n\n\n")
    text(
        "bom_utf8.csv",
        "\ufeff"
        + H
        + "2024-01-02 10:00,u1,雅诗兰黛,read,\n2024-01-02 11:00,u2,兰蔻,purchase,99.5\n",
    )
    text(
        "gbk.csv",
        H + "2024-01-02 10:00,u1,雅诗兰黛,read,\n2024-01-02 11:00,u2,兰蔻,purchase,99.5\n",
        "gbk",
    )
    text(
        "gb18030.csv",
        H + "2024-01-02 10:00,u1,㐀品牌,read,\n2024-01-02 11:00,u2,€欧元,read,\n",
        "gb18030",
    )
    mixed = (
        H + "2024-01-02 10:00,u1,雅诗兰黛,read,\n"
    ).encode() + "2024-01-02 11:00,u2,兰蔻,read,\n".encode("gbk")
    raw("mixed_encodings.csv", mixed + "2024-01-02 12:00,u3,兰蔻,read,\n".encode())
    text(
        "unparseable_timestamps.csv",
        H + "2024-01-02 10:00,u1,b,read,\nyesterday,u2,b,read,\n2023-02-29 10:00,u3,b,read,\n"
        "2024-01-02 25:00,u4,b,read,\n1704160800,u5,b,read,\n2024-01-02T10:00:00Z,u6,b,read,\n",
    )
    text(
        "ambiguous_timestamps.csv",
        H
        + "01/02/2024 10:00,u1,b,read,\n13/02/2024 10:00,u2,b,read,\n02/13/2024 10:00,u3,b,read,\n"
        "05/05/2024 10:00,u4,b,read,\n2024-02-01 10:00,u5,b,read,\n",
    )
    text(
        "naive_and_aware_timestamps.csv",
        H
        + "2024-01-02 08:00:00,u1,b,read,\n2024-01-02T00:00:00Z,u2,b,read,\n2024-01-02 08:00:00+08:00,u3,b,read,\n"
        "2024-01-02 00:00:00 UTC,u4,b,read,\n2024-01-01T19:00:00-05:00,u5,b,read,\n",
    )
    text(
        "dst_local_times.csv",
        H
        + "2024-03-10 02:30,u1,b,read,\n2024-11-03 01:30,u2,b,read,\n2024-11-03 03:30,u3,b,read,\n",
    )
    text(
        "negative_amounts.csv",
        H
        + "2024-01-02 10:00,u1,b,purchase,-5\n2024-01-02 10:00,u2,b,purchase,0\n2024-01-02 10:00,u3,b,purchase,12.5\n",
    )
    text(
        "non_numeric_amounts.csv",
        H + '2024-01-02 10:00,u1,b,purchase,"12,5"\n2024-01-02 10:00,u2,b,purchase,abc\n'
        "2024-01-02 10:00,u3,b,purchase,¥10\n2024-01-02 10:00,u4,b,purchase,nan\n2024-01-02 10:00,u5,b,purchase,1e3\n",
    )
    text(
        "null_user_ids.csv",
        H + "2024-01-02 10:00,,b,read,\n2024-01-02 10:00,   ,b,read,\n2024-01-02 10:00,u3,b,read,\n"
        '2024-01-02 10:00,"",b,read,\n',
    )
    text(
        "missing_brand_and_type.csv",
        H + "2024-01-02 10:00,u1,,read,\n2024-01-02 10:00,u2,b,,\n,u3,b,read,\n,,,,\n",
    )
    text(
        "unknown_event_types.csv",
        H
        + "2024-01-02 10:00,u1,b,READ,\n2024-01-02 10:00,u2,b,teleport,\n2024-01-02 10:00,u3,b,pv,\n"
        "2024-01-02 10:00,u4,b,Add_To_Cart,\n2024-01-02 10:00,u5,b,wishlist,\n",
    )
    text(
        "duplicate_ids.csv",
        "event_id," + H + "e1,2024-01-02 10:00,u1,b,read,\ne2,2024-01-02 10:00,u1,b,read,\n"
        "e1,2024-01-02 11:00,u9,b,read,\ne3,2024-01-02 10:00,u3,b,read,\ne3,2024-01-02 10:00,u3,b,read,\n",
    )
    text(
        "duplicate_rows_no_ids.csv",
        H
        + "2024-01-02 10:00,u1,b,read,\n2024-01-02 10:00,u1,b,read,\n2024-01-02T02:00:00Z,u1,b,read,\n"
        "2024-01-02 10:00,u1,b,READ,\n2024-01-02 10:00,u1,b,view,\n2024-01-02 10:00,u2,b,read,\n",
    )
    text(
        "ragged_rows.csv",
        H
        + "2024-01-02 10:00,u1,b,read,\n2024-01-02 10:00,u2,b\n2024-01-02 10:00,u3,b,read,,extra\n"
        "2024-01-02 10:00,u4,b,read,\n,\n",
    )
    text(
        "quoted_newline.csv",
        "ts,user_id,brand,event_type,keyword\n"
        '2024-01-02 10:00,u1,b,search,"face\nserum"\n2024-01-02 10:00,,b,search,x\n'
        '2024-01-02 10:00,u3,b,search,"a ""quoted"" word"\n2024-01-02 10:00,u4,,search,y\n',
    )
    text(
        "blank_lines_crlf.csv",
        (H + "\n2024-01-02 10:00,u1,b,read,\n\n\n2024-01-02 10:00,,b,read,\n").replace(
            "\n", "\r\n"
        ),
    )
    text(
        "duplicate_header.csv", "ts,user_id,brand,brand,event_type\n2024-01-02 10:00,u1,b,c,read\n"
    )
    text(
        "numeric_ranges.csv",
        "ts,user_id,brand,event_type,dwell_s,completion\n2024-01-02 10:00,u1,b,read,5,0.5\n"
        "2024-01-02 10:00,u2,b,read,-1,0.5\n2024-01-02 10:00,u3,b,read,3,1.5\n2024-01-02 10:00,u4,b,read,fast,0.2\n"
        "2024-01-02 10:00,u5,b,read,2,half\n",
    )
    text(
        "malformed.jsonl",
        '{"ts": "2024-01-02 10:00", "user_id": "u1", "brand": "b", "event_type": "read"}\n'
        "\n"
        '{"ts": "2024-01-02 10:00", "user_id": "u2", "brand": "b", "event_type": "read"\n'
        '{"ts": "2024-01-02 10:00", "user_id": 3, "brand": "b", "event_type": "purchase", "amount": -1}\n'
        '["not", "an", "object"]\n'
        '{"ts": "2024-01-02 10:00", "user_id": "u4", "brand": "b", "event_type": "purchase", "amount": "12.5"}\n',
    )
    text(
        "json_array.json",
        '[{"ts": "2024-01-02 10:00", "user_id": "u1", "brand": "b", "event_type": "read"}]\n',
    )
    raw(
        "gbk_tab.tsv.gz",
        gzip.compress(
            (
                "ts\tuser_id\tbrand\tevent_type\n2024-01-02 10:00\tu1\t兰蔻\t浏览\n2024-01-02 10:00\tu2\t兰蔻\tread\n"
            ).encode("gbk"),
            mtime=0,
        ),
    )
    full = gzip.compress(
        (H + "".join(f"2024-01-02 10:00,u{i},b,read,\n" for i in range(5000))).encode(), mtime=0
    )
    raw("truncated.csv.gz", full[: len(full) // 2])
    raw("not_really_gzip.csv.gz", (H + "2024-01-02 10:00,u1,b,read,\n").encode())
    text(
        "utf16_excel_export.txt",
        "ts\tuser_id\tbrand\tevent_type\n2024-01-02 10:00\tu1\t兰蔻\tread\n",
        "utf-16",
    )
    _excel()
    _parquet()
    text(
        "campaigns_bad.csv",
        "campaign_id,brand,category,channel,start_date,end_date,spend\n"
        "c1,b,facial_serum,feed_ad,2024-01-01,2024-01-31,1000\nc2,b,,kol_note,2024-13-01,,50\n"
        ",b,,,2024-01-01,,5\nc4,b,,,2024-02-01,2024-01-01,5\nc5,b,,,2024-01-01,,-3\nc1,b,,,2024-01-05,,7\n",
    )
    text(
        "categories_bad.csv",
        "category,decision_cycle_days\nfacial_serum,29\ninfant_food,0\ntoys,1.5\nshoes,soon\n,30\nbags,45.0\n",
    )
    text(
        "rees46_remove_from_cart.csv",
        "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
        "2019-10-01 00:00:00 UTC,view,1,2,a.b,apple,9.5,7,s\n"
        "2019-10-01 00:00:01 UTC,remove_from_cart,1,2,a.b,apple,9.5,7,s\n"
        "2019-10-01 00:00:02 UTC,remove_from_cart,1,2,a.b,,,7,s\n"
        "2019-10-01 00:00:03 UTC,purchase,1,2,a.b,apple,9.5,7,s\n"
        "2019-10-01 00:00:04 UTC,purchase,1,2,a.b,,9.5,7,s\n",
    )
    text(
        "users_bad.csv",
        "user_id,holdout,city_tier\nu1,true,1\nu2,no,2\nu3,maybe,1\n,false,3\nu1,false,2\n",
    )


def _excel() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "events"
    sheet.append(["ts", "user_id", "brand", "event_type", "amount"])
    sheet.append(["2024-01-02 10:00", 1000001, "b", "read", None])
    sheet.append(["2024-01-02 11:00", 1000002, "b", "purchase", 12.5])
    summary = book.create_sheet("summary")
    summary.append(["brand", "events"])
    summary.append(["b", 2])
    book.save(HERE / "two_sheets.xlsx")
    import datetime as dt

    book = Workbook()
    sheet = book.active
    sheet.append(["ts", "user_id", "brand", "event_type", "amount"])
    sheet.append([dt.datetime(2024, 1, 2, 10, 0), 1000001, "b", "read", None])
    sheet.append([dt.datetime(2024, 1, 2, 11, 0), None, "b", "purchase", -1])
    sheet.append([dt.datetime(2024, 1, 2, 12, 0), 1000003, "b", "purchase", 12.5, "stray cell"])
    book.save(HERE / "one_sheet_typed.xlsx")


def _parquet() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "ts": pa.array(
                [1704160800_000000, 1704160800_000000, None, 1704164400_000000],
                pa.timestamp("us", "UTC"),
            ),
            "user_id": pa.array([1, None, 3, 4], pa.int64()),
            "brand": ["b", "b", "b", "b"],
            "event_type": ["read", "read", "read", "purchase"],
            "amount": pa.array([None, None, None, -2.0]),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    raw("typed_columns.parquet", buf.getvalue())


def readme() -> None:
    cases = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
    lines = [
        "# Bad-input corpus",
        "",
        "Each file exercises one way a source file goes wrong. `tests/ingest/test_ingest_corpus.py` ingests",
        "every one (and runs `aips ingest` on it) and checks the exact counts, reasons and messages of",
        "`cases.yaml`. Files are made by `make_corpus.py` (run it from the repository root; it also",
        "rewrites this table). Counts: read = loaded + duplicates + ignored + quarantined.",
        "",
        "| file | options | what is wrong | read | loaded | dup | ign | quar | reasons / error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        opts = " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in (case.get("options") or {}).items()
        )
        exp = case.get("expect") or {}
        if "error" in case:
            counts = "| - | - | - | - | - "
            what = f"error: {case['error']}"
        else:
            counts = "".join(
                f"| {exp.get(k, 0)} "
                for k in ("rows_read", "loaded", "duplicates", "ignored", "quarantined")
            )
            what = ", ".join(f"{k} {v}" for k, v in (exp.get("reasons") or {}).items()) or "-"
        lines.append(f"| `{case['file']}` | {opts or '-'} | {case['wrong']} {counts}| {what} |")
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    make()
    if (HERE / "cases.yaml").exists():
        readme()
