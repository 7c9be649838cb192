"""The brand report on the session's simulated store, and on a tiny hand-made one."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
from report_helpers import engine_cards, plain_workspace

import aips
from aips.reporting import sections as S
from aips.reporting.data import SECTIONS, collect
from aips.reporting.html import render_report, write_report
from aips.reporting.period import resolve_period


def test_every_section_has_data(report_data):
    assert report_data.omitted == {}
    assert set(report_data.sections) == set(SECTIONS)


def test_cards_equal_the_engine(report_data, world):
    expected = engine_cards(world, world.brand)
    found = report_data.card_values()
    for metric, value in expected.items():
        if value is None:
            assert found[metric] is None, metric
        else:
            assert found[metric] == pytest.approx(value, rel=1e-12), metric


def test_default_period_is_the_last_30_days(world, report_data):
    ws = plain_workspace(world.store)
    try:
        last = ws.events.local_date.max().to_pyarrow().as_py()
        p = resolve_period(ws)
    finally:
        ws.close()
    assert (p.end, p.days, p.t0, p.t1) == (last, 30, last - dt.timedelta(days=30), last)
    assert report_data.period == p


def test_suggested_audience_sizes_equal_the_audience_api(report_data, world):
    sizes = {a["key"]: a["size"] for a in report_data.sections["audiences"]}
    p = report_data.period
    ws = plain_workspace(world.store)
    try:
        assert sizes["ti_not_bought"] == ws.audience(brand=world.brand, at=p.end, stages="TI").size("user")
        assert sizes["new_ti"] == ws.audience(brand=world.brand, flow="none,A,I:TI", t0=p.t0, t1=p.t1).size("user")
        if "stuck" in sizes:
            stage = report_data.sections["diagnosis"]["actions"]["stuck_stage"]
            assert sizes["stuck"] == ws.audience(brand=world.brand, flow=f"{stage}:{stage}", t0=p.t0, t1=p.t1).size("user")
    finally:
        ws.close()


def _cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', html))


def test_html_is_self_contained_with_every_section(report_data, tmp_path):
    path = write_report(report_data, tmp_path / "r.html", "en")
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html, re.I), "no external script"
    assert not re.search(r"<link[^>]+href=[\"']https?:", html, re.I), "no external stylesheet"
    assert html.count("Plotly.newPlot") >= 10 and "plotly.js" in html.lower()
    for div in ("fig-stages", "fig-trend", "fig-sankey", "fig-flow_compare", "fig-cycles", "fig-roi",
                "fig-attribution_purchase", "fig-attribution_ti", "fig-portrait", "fig-diagnosis"):
        assert f'id="{div}"' in html, div
    for anchor in ("cards", "stages", "flows", "cycles", "roi", "attribution", "activation", "insight",
                   "diagnosis", "methods"):
        assert f'id="{anchor}"' in html, anchor
    values = {k: v for k, v in report_data.card_values().items()}
    cards = _cards(html)
    assert set(cards) == set(values)
    for metric, value in values.items():
        assert (cards[metric] == "") if value is None else float(cards[metric]) == pytest.approx(value, rel=1e-12)
    assert "Leaking stage" in html or "Weakest stage" in html
    assert "Rows quarantined at load" in html and "Stage rules" in html


def test_chinese_report(report_data):
    html = render_report(report_data, "zh")
    assert 'lang="zh-CN"' in html
    for text in ("人群资产报告", "各阶段人群资产", "深度兴趣", "决策周期", "渠道归因", "方法与数据说明", "万"):
        assert text in html, text
    assert "Crowd asset by stage" not in html


def test_failing_sections_are_omitted_with_a_note(world, monkeypatch):
    def boom(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(S, "section_stages", boom)
    with aips.open(str(world.store), read_only=True) as ws:
        data = collect(ws, world.brand, sections=("cards", "stages", "flows", "methods"))
    assert data.omitted["stages"] == "RuntimeError: boom"
    assert data.has("flows") and data.has("cards")
    html = render_report(data, "en")
    assert "Sections omitted" in html and "boom" in html
    assert 'data-metric="aips_total"' in html


def test_unknown_brand_names_the_known_ones(world):
    from aips.exceptions import ConfigError

    with aips.open(str(world.store), read_only=True) as ws, pytest.raises(ConfigError, match=world.brand):
        collect(ws, "NoSuchBrand", sections=("methods",))


# --- a tiny store: most sections have nothing to show, the report still renders -------------


def _tiny_store(path):
    from aips.store.tables import arrow_schema

    rows = []
    day0 = dt.datetime(2024, 3, 1, 2)
    script = [("u1", "impression", 0), ("u1", "read", 1), ("u1", "collect", 2), ("u1", "purchase", 5),
              ("u2", "impression", 3), ("u2", "read", 4), ("u3", "impression", 6)]
    for i, (user, etype, day) in enumerate(script):
        ts = day0 + dt.timedelta(days=day)
        rows.append({"event_id": str(i), "ts": ts, "local_date": (ts + dt.timedelta(hours=8)).date(),
                     "user_id": user, "brand": "b", "category": "c", "event_type": etype,
                     "amount": 99.0 if etype == "purchase" else None})
    ws = aips.open(str(path))
    ws.store.write("events", pa.Table.from_pylist(rows, schema=arrow_schema("events")))
    ws.close()


def test_cli_report_on_a_tiny_store(tmp_path):
    from typer.testing import CliRunner

    from aips.cli.app import app

    store = tmp_path / "tiny.duckdb"
    _tiny_store(store)
    out = tmp_path / "tiny.html"
    result = CliRunner().invoke(app, ["report", "--brand", "b", "--out", str(out), "--store", str(store),
                                      "--lang", "zh"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'data-metric="aips_total" data-value="3"' in html
    assert "未展示的部分" in html  # sections without data are listed in the footnote
    assert "roi" not in _cards(html) or _cards(html)["roi"] == ""


def test_cli_report_unknown_brand_fails_cleanly(tmp_path):
    import subprocess
    import sys

    store = tmp_path / "tiny.duckdb"
    _tiny_store(store)
    code = "import sys; from aips.cli.app import main; sys.argv=['aips','report','--brand','zz','--store',sys.argv[1],'--out',sys.argv[2]]; main()"
    proc = subprocess.run([sys.executable, "-c", code, str(store), str(tmp_path / "x.html")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "no events of brand 'zz'" in proc.stderr and "b" in proc.stderr


def test_spu_level_crowd_sections(world):
    with aips.open(str(world.store), read_only=True) as ws:
        data = collect(ws, world.brand, level="spu", sections=("stages", "trend", "flows"))
        spus = ws.events.filter((ws.events.brand == world.brand) & ws.events.spu.notnull()).spu.nunique()
        n_spus = int(spus.to_pyarrow().as_py())
    assert data.omitted == {}
    stages = data.sections["stages"]["frame"]
    assert stages["spu"].nunique() == n_spus > 1
    # the Sankey counts (user, SPU) pairs of the brand's SPUs: as many on each side as at t0/t1
    flows = data.sections["flows"]
    assert flows["matrix"]["users"].sum() >= stages["exclusive"].sum()
    html = render_report(data, "en")
    assert "Level: SPU" in html


def test_the_models_currency_shows_in_the_report(report_data, world, tmp_path):
    import dataclasses

    from aips.config.model import default_model
    from aips.reporting.html import card_views

    assert report_data.meta["currency"] == "¥"
    config = tmp_path / "aips.yaml"
    config.write_text("currency: $\n", encoding="utf-8")
    assert default_model().with_overrides(currency="$").currency == "$"
    with aips.open(str(world.store), str(config), read_only=True) as ws:
        meta = collect(ws, world.brand, sections=("methods",)).meta
    assert meta["currency"] == "$"
    dollars = dataclasses.replace(report_data, meta={**report_data.meta, "currency": "$"})
    assert report_data.sections["roi"]["campaigns"], "the world has campaigns with spend"
    html = render_report(dollars, "en")
    assert re.search(r"\$[0-9]", html) and not re.search(r"¥[0-9]", html)
    card = {"metric": "revenue", "kind": "money", "value": 1234.0, "previous": 1000.0}
    assert card_views([card], "en", "$")[0]["value"] == "$1,234"


def test_suggested_audience_commands_are_shell_quoted_and_html_escaped():
    """Issue 16 item 10: a brand is user data: quoted for the shell, escaped in the HTML."""
    import shlex
    from types import SimpleNamespace

    from aips.reporting.html import _env
    from aips.reporting.sections_activation import _audience_specs

    brand = "=Acme $(rm -rf ~); '<script>x</script>"
    period = SimpleNamespace(t0=dt.date(2024, 3, 1), t1=dt.date(2024, 3, 31), end=dt.date(2024, 3, 31))
    ctx = SimpleNamespace(period=period, brand=brand, memo={"diagnosis_focus": "I->TI"})
    specs = _audience_specs(ctx)
    assert len(specs) == 6
    for spec in specs:
        argv = shlex.split(spec["command"])
        assert argv[:4] == ["aips", "audience", "--brand", brand]
        out = argv[argv.index("--out") + 1]
        assert out.startswith(brand.lower().replace(" ", "_")) and out.endswith(".csv")
    import jinja2

    env = _env()
    assert env.autoescape("report.html.j2") is True
    probe = jinja2.Environment(autoescape=env.autoescape,
                               loader=jinja2.DictLoader({"report.html.j2": "<code>{{ c }}</code>"}))
    row = probe.get_template("report.html.j2").render(c=specs[1]["command"])
    assert "<script>" not in row and "&lt;script&gt;" in row


def test_roi_names_campaigns_measured_against_their_own_holdout(report_data):
    """A campaign whose incremental ROI came from its own holdout (``campaign_holdouts``) is
    named under the ROI note; with the brand-wide holdout only, no such line."""
    en_note = "Incremental ROI measured against the campaign&#39;s own holdout"
    assert en_note not in render_report(report_data, "en")
    first = report_data.sections["roi"]["campaigns"][0]
    inc = first["incremental"]
    assert inc is not None
    inc["own_holdout"] = True
    try:
        en, zh = render_report(report_data, "en"), render_report(report_data, "zh")
    finally:
        del inc["own_holdout"]
    assert re.search(en_note + r"[^<]*: " + re.escape(first["campaign"]) + "</p>", en)
    assert "以下活动的增量 ROI 与本活动自己的对照组比较" in zh and en_note not in zh
