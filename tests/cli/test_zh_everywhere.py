"""Chinese output is Chinese throughout (issue 16, item 15): ``aips diagnose --lang zh``
(table format), the brand report in zh and the dashboard's zh page (its layout and what its
callbacks fill in, rendered server-side) on the demo world hold no English word outside an
allow-list: the store's own names (brands, categories, keywords, channels, formats, event
types, ids), stage letters, ``aips`` command lines and their flags, and technical names."""

from __future__ import annotations

import html
import re

import pytest
from typer.testing import CliRunner

import aips
from aips.cli.app import app as cli_app

BRAND, AT = "Serava", "2025-12-29"

ALLOWED = {  # stage letters, technical names and units shared by both languages
    "a", "i", "ti", "p", "s", "aips", "tgi", "roi", "km", "kaplan", "meier", "markov", "shapley", "kol", "koc",
    "utc", "spu", "csv", "html", "id", "sha", "t", "x", "n", "p80", "en", "zh",
}
_COMMAND = re.compile(r"aips [a-z]+(?: [^\s\u3000-\u9fff\uff00-\uffef]+)*")
_FLAG = re.compile(r"--[a-z][\w-]*(?: [A-Za-z0-9_.:,/+-]+)?")
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
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The English words of ``text`` outside commands, flags and ``allowed`` (lower case)."""
    text = _FLAG.sub(" ", _COMMAND.sub(" ", text))
    return sorted({w for w in _WORD.findall(text) if w.lower() not in allowed})


def _check(text: str, store_words: set[str]) -> None:
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 50, text[:500]
    found = english_words(text, ALLOWED | store_words)
    assert not found, f"English words in Chinese output: {found}"


def test_diagnose_table_in_chinese(demo_store, store_words):
    result = CliRunner().invoke(cli_app, ["diagnose", "--brand", BRAND, "--at", AT, "--lang", "zh",
                                          "--store", demo_store], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    _check(result.stdout, store_words)
    assert "推进率" in result.stdout and "流转率" in result.stdout  # advance rate, flow rate: two words
    assert "TI->P 推进率" in result.stdout and "TI->P 流转率" in result.stdout


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
              "level.value": "brand", "lang.value": "zh", "core-done.data": "done"}
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
    from aips.reporting.labels import LABELS

    english = {key: english_words(re.sub(r"\{[^}]*\}", " ", text), ALLOWED)
               for key, text in LABELS["zh"].items()}
    assert not {k: v for k, v in english.items() if v}
    assert set(LABELS["en"]) <= set(LABELS["zh"]), set(LABELS["en"]) - set(LABELS["zh"])
