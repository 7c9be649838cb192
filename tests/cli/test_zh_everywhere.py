"""Chinese output is Chinese throughout (issue 16, item 15): every command that prints a
table, run with ``--lang zh`` (table format), the brand report in zh and the dashboard's zh
page (its layout and what its callbacks fill in, rendered server-side) on the demo world hold
no English word outside an allow-list: the store's own names (brands, categories, keywords,
channels, formats, event types, ids, its tables and loaded files), stage letters, ``aips``
command lines and their flags, and technical names."""

from __future__ import annotations

import html
import re
import shlex

import pytest
from typer.testing import CliRunner

import aips
from aips.cli.app import app as cli_app

BRAND, AT = "Serava", "2025-12-29"

ALLOWED = {  # stage letters, technical names and units shared by both languages
    "a", "i", "ti", "p", "s", "aips", "tgi", "roi", "km", "kaplan", "meier", "markov", "shapley", "kol", "koc",
    "utc", "spu", "csv", "html", "json", "id", "sha", "t", "x", "n", "p80", "en", "zh",
    "duckdb", "gib", "mib", "kib", "store", "memory_limit", "threads", "temp_directory",  # aips info's settings
    "preserve_insertion_order", "enable_external_file_cache", "gbk",
    "spark", "jvm", "master", "driver", "executor", "local",  # Spark's own names (store refusals)
    "parquet", "tsv", "utf", "quarantine", "events",  # file formats, an encoding and table names
    "aips_memory_limit", "aips_temp_directory", "tmp",  # environment variables, the spill folder's suffix
}
_COMMAND = re.compile(r"aips [a-z]+(?: [^\s\u3000-\u9fff\uff00-\uffef]+)*")
_FLAG = re.compile(r"--[a-z][\w-]*(?: [A-Za-z0-9_.:,/+=-]+)?")  # a value: 4GiB, K=V
_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")


@pytest.fixture(scope="module")
def store_words(demo_store) -> set[str]:
    """Every word of every text value of the store's tables (its names and ids are data)."""
    words: set[str] = set()
    with aips.open(demo_store, read_only=True) as ws:
        for name in ("events", "campaigns", "categories", "creators", "users"):
            if not ws.store.has(name):
                continue
            table = ws.store.table(name)
            for col, dtype in table.schema().items():
                if dtype.is_string():
                    for value in table.select(col).distinct().limit(100_000).to_pyarrow()[col].to_pylist():
                        words.update(w.lower() for w in _WORD.findall(value or ""))
        words.update(w.lower() for w in _WORD.findall(str(ws.model.timezone)))  # Asia/Shanghai
        words.update(w.lower() for w in _WORD.findall(str(demo_store)))  # the store's (and its spill folder's) path
        info = ws.info()
        for name in [*info["tables"], *(r["source_file"].rsplit("/", 1)[-1] for r in info["loads"])]:
            words.update(w.lower() for w in _WORD.findall(name))  # events, part-00000.parquet
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The English words of ``text`` outside commands, flags and ``allowed`` (lower case)."""
    text = _FLAG.sub(" ", _COMMAND.sub(" ", text))
    return sorted({w for w in _WORD.findall(text) if w.lower() not in allowed})


def _check(text: str, store_words: set[str], min_chinese: int = 50) -> None:
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > min_chinese, text[:500]
    found = english_words(text, ALLOWED | store_words)
    assert not found, f"English words in Chinese output: {found}"


def test_diagnose_table_in_chinese(demo_store, store_words):
    result = CliRunner().invoke(cli_app, ["diagnose", "--brand", BRAND, "--at", AT, "--lang", "zh",
                                          "--store", demo_store], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    _check(result.stdout, store_words)
    assert "推进率" in result.stdout and "流转率" in result.stdout  # advance rate, flow rate: two words
    assert "TI->P 推进率" in result.stdout and "TI->P 流转率" in result.stdout


# Every command that prints a table, with arguments that fill it on the demo world (several
# views where a command has them). ``report`` and ``serve`` are the report and dashboard below.
ZH_COMMANDS = [
    "info",
    f"assets --at {AT}",
    f"assets --at {AT} --cumulative --brand {BRAND}",
    f"series --from 2025-10-01 --to {AT} --freq week --brand {BRAND}",
    f"flows --from 2025-11-29 --to {AT} --brand {BRAND}",
    f"flows --from 2025-11-29 --to {AT} --view rates --brand {BRAND}",
    f"flows --from 2025-11-29 --to {AT} --view movements --brand {BRAND}",
    f"competitors --at {AT}",
    f"penetration --at {AT}",
    "funnel --steps read,collect,purchase --window 14d",
    "funnel --steps read,collect,purchase --window 7d --order strict --breakdown channel",
    "cycle --category facial_serum",
    "roi --campaign lumiere-feed-ad-1",
    "loyalty",
    "attribute --compare",
    f"attribute --model incremental --brand {BRAND}",
    f"attribute --model markov --brand {BRAND}",
    f"audience --brand {BRAND} --at {AT} --stage TI",
    f"audience --brand {BRAND} --at {AT} --flow I:TI --from 2025-11-29",
    f"creators --brand {BRAND} --at {AT} --budget 50000",
    f"diagnose --brand {BRAND} --at {AT}",
    f"portrait --brand {BRAND} --at {AT} --stage TI",
    f"content --brand {BRAND}",
    f"content --brand {BRAND} --view strategy",
    f"content --brand {BRAND} --view sov",
    f"engagement --brand {BRAND} --from 2025-12-01 --to {AT}",
    f"curves --brand {BRAND}",
    f"forecast --brand {BRAND} --from 2025-11-29 --horizon 30",
    f"plan --brand {BRAND} --budget 500000 --horizon 30 --goal TI",
    f"plan --brand {BRAND} --budget 500000 --creators",
]


def _options(command) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", [])}


def test_every_command_that_prints_a_table_takes_lang_and_is_rendered_here():
    import typer.main

    group = typer.main.get_command(cli_app)
    tables = {name for name, cmd in group.commands.items() if "--format" in _options(cmd)}
    with_lang = {name for name, cmd in group.commands.items() if "--lang" in _options(cmd)}
    assert tables <= with_lang
    # ingest and source change the store: their own tests (tests/ingest)
    assert with_lang - {"report", "serve", "ingest", "source"} <= {c.split()[0] for c in ZH_COMMANDS}


@pytest.mark.parametrize("command", ZH_COMMANDS, ids=lambda c: c.split(" --")[0].replace(" ", "_"))
def test_command_in_chinese(demo_store, store_words, command):
    args = [*shlex.split(command), "--lang", "zh", "--store", demo_store]
    result = CliRunner().invoke(cli_app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    _check(result.stdout + "\n" + result.stderr, store_words, min_chinese=3)


def test_lang_leaves_csv_and_json_raw(demo_store):
    runner = CliRunner()
    base = ["assets", "--at", AT, "--brand", BRAND, "--store", demo_store]
    for fmt in ("csv", "json"):
        en = runner.invoke(cli_app, [*base, "--format", fmt])
        zh = runner.invoke(cli_app, [*base, "--format", fmt, "--lang", "zh"])
        assert en.exit_code == zh.exit_code == 0
        assert zh.stdout == en.stdout
    assert en.stdout.lstrip().startswith("[") and '"stage"' in en.stdout


def _report_text(path, store: str) -> str:
    """The report's text: no scripts or styles, no verbatim code (commands, stage rules), no store path."""
    text = path.read_text(encoding="utf-8").replace(html.escape(store), " ").replace(store, " ")
    text = re.sub(r"<(script|style|code)\b.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def test_report_in_chinese(demo_store, store_words, tmp_path):
    from aips.reporting import write_report
    from aips.reporting.data import collect

    with aips.open(demo_store, read_only=True) as ws:
        data = collect(ws, BRAND, langs=("zh",))
    text = _report_text(write_report(data, tmp_path / "report_zh.html", "zh"), demo_store)
    _check(text, store_words)
    assert "提升倍数" in text


def _texts(obj):
    """Every text a person reads in a Dash component tree or a Plotly figure."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _texts(x)
    elif isinstance(obj, dict):
        for key in ("text", "title", "name", "label", "children"):
            if key in obj:
                yield from _texts(obj[key])
        for key, value in obj.items():
            if key in ("layout", "annotations", "xaxis", "yaxis", "legend") or key.startswith(("xaxis", "yaxis")):
                yield from _texts(value)
            elif key in ("data",) and isinstance(value, list):
                yield from _texts([{"name": t.get("name")} for t in value if isinstance(t, dict)])
    elif hasattr(obj, "to_plotly_json") and type(obj).__module__.startswith("plotly"):
        yield from _texts(obj.to_plotly_json())
    elif hasattr(obj, "to_plotly_json"):  # a Dash component
        props = obj.to_plotly_json().get("props", {})
        for key in ("children", "options", "title", "placeholder"):
            if key in props:
                yield from _texts(props[key])
        if "figure" in props:
            yield from _texts(props["figure"])


def test_dashboard_in_chinese(demo_store, store_words):
    from aips.dashboard.app import create_app

    app = create_app(demo_store, lang="zh", brand=BRAND)
    svc = app.aips_service
    period = svc.period()
    values = {"brand.value": BRAND, "dates.start_date": str(period.start), "dates.end_date": str(period.end),
              "level.value": "brand", "lang.value": "zh", "core-done.data": "done", "url.hash": ""}
    texts = list(_texts(app.layout))
    for entry in app.callback_map.values():
        names = [f"{i['id']}.{i['property']}" for i in [*entry["inputs"], *entry.get("state", [])]]
        if not all(n in values for n in names):  # clicks and downloads: not rendered without a user
            continue
        texts += list(_texts(entry["callback"].__wrapped__(*(values[n] for n in names))))
    text = "\n".join(texts)
    _check(text, store_words)
    for english in ("no peers", "vs previous period"):
        assert english not in text


def test_every_chinese_label_is_chinese():
    """Each zh label of the catalogue (placeholders aside), as the dashboard's ``no peers``."""
    from aips.config.labels import LABELS

    english = {key: english_words(re.sub(r"\{[^}]*\}", " ", text), ALLOWED)
               for key, text in LABELS["zh"].items()}
    assert not {k: v for k, v in english.items() if v}
    assert set(LABELS["en"]) <= set(LABELS["zh"]), set(LABELS["en"]) - set(LABELS["zh"])


def test_series_update_and_backfill_report_in_chinese(demo_store, store_words, tmp_path):
    """``series --update`` / ``--backfill`` say what they did (on stderr) in the chosen language."""
    import shutil

    store = str(tmp_path / "copy.duckdb")
    shutil.copy(demo_store, store)
    runner = CliRunner()
    backfill = runner.invoke(cli_app, ["series", "--backfill", "--from", "2025-12-01", "--to", AT,
                                       "--lang", "zh", "--store", store, "--format", "json"])
    assert backfill.exit_code == 0, backfill.output
    assert "资产历史（品牌）：已重算 2025-12-01.." in backfill.stderr
    update = runner.invoke(cli_app, ["series", "--update", "--lang", "zh", "--store", store])
    assert update.exit_code == 0, update.output
    assert "资产历史（品牌）：" in update.stderr
    for text in (backfill.stderr, update.stderr):
        assert not english_words(text, ALLOWED | store_words), text
    english = runner.invoke(cli_app, ["series", "--update", "--store", store])
    assert "asset_history (brand): " in english.stderr


def test_ingest_report_in_chinese(tmp_path, store_words):
    """``aips ingest --lang zh``: the balance line, the quarantine reasons and the file in Chinese."""
    src = tmp_path / "events.csv"
    src.write_text("event_id,user_id,brand,event_type,ts,amount\n"
                   "e1,u1,Serava,read,2025-12-01 10:00:00,\n"
                   "e2,u1,Serava,purchase,2025-12-01 11:00:00,abc\n"
                   "e3,u2,,read,2025-12-01 12:00:00,\n", encoding="utf-8")
    store = str(tmp_path / "zh.duckdb")
    result = CliRunner().invoke(cli_app, ["ingest", str(src), "--preset", "canonical", "--lang", "zh",
                                          "--store", store, "--quarantine-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "events：读取 3 行 = 载入 1 + 重复 0 + 忽略 0 + 隔离 2" in out, out
    assert "隔离原因：" in out and "隔离文件：" in out, out
    columns = {"event_id", "user_id", "brand", "event_type", "ts", "amount"}  # the file's own names
    words = store_words | columns | {w.lower() for w in _WORD.findall(str(tmp_path))}
    # the quarantine file's name ends in a random hex id (letters a-f: 'adcb' is no English)
    words |= {w.lower() for f in tmp_path.iterdir() for w in _WORD.findall(f.name)}
    assert not english_words(out, ALLOWED | words), out
    english = CliRunner().invoke(cli_app, ["ingest", str(src), "--preset", "canonical", "--store", store])
    assert "events: 3 rows read = 0 loaded + 1 duplicates" in english.stdout, english.stdout
