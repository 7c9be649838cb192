"""The HTML report opened in headless Chromium: charts drawn, cards right, Chinese labels.

Screenshots go to the test's output folder (``screenshots/``), and to ``out/screenshots/``
with ``AIPS_SCREENSHOTS=1``.
"""

from __future__ import annotations

import pytest
from report_helpers import assert_cards_match, engine_cards, publish_screenshots, screenshot_dir

from aips.reporting.charts import figures
from aips.reporting.html import write_report


@pytest.fixture(scope="module")
def report_data(data_service, world):
    return data_service.report_data(world.brand)


def _open(page, path):
    page.page.goto(path.resolve().as_uri())
    page.page.wait_for_function(
        "() => { const p = document.querySelectorAll('.js-plotly-plot');"
        " return p.length > 0 && [...p].every(el => el.querySelector('svg.main-svg')); }",
        timeout=60_000)


def _cards(page) -> dict[str, str]:
    return {c.get_attribute("data-metric"): c.get_attribute("data-value") for c in page.page.locator(".card").all()}


def test_report_renders_every_chart_with_the_engines_numbers(page, report_data, world, tmp_path):
    path = write_report(report_data, tmp_path / "report.html", "en")
    _open(page, path)
    plots = page.page.locator(".js-plotly-plot")
    assert plots.count() == len(figures(report_data, "en")) >= 10
    for i in range(plots.count()):
        assert plots.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} has no SVG"
    assert page.errors == []
    assert_cards_match(_cards(page), engine_cards(world, world.brand))
    assert page.page.locator("h1").inner_text().startswith("AIPS crowd-asset report")
    shots = screenshot_dir(tmp_path)
    page.page.screenshot(path=str(shots / "report_en.png"), full_page=True)
    page.page.emulate_media(media="print")
    page.page.pdf(path=str(tmp_path / "report.pdf"), format="A4", print_background=True)
    assert (tmp_path / "report.pdf").stat().st_size > 10_000
    publish_screenshots(shots)


def test_chinese_report_shows_chinese_labels(page, report_data, world, tmp_path):
    path = write_report(report_data, tmp_path / "report_zh.html", "zh")
    _open(page, path)
    text = page.page.locator("body").inner_text()
    for label in ("人群资产报告", "各阶段人群资产", "TI 深度兴趣人群", "人群流转", "决策周期", "方法与数据说明"):
        assert label in text, label
    assert "Crowd asset by stage" not in text
    assert page.errors == []
    assert_cards_match(_cards(page), engine_cards(world, world.brand))
    sankey_labels = page.page.locator("#fig-sankey .node-label").all_text_contents()
    assert any("兴趣" in s for s in sankey_labels), sankey_labels
    shots = screenshot_dir(tmp_path)
    page.page.screenshot(path=str(shots / "report_zh.png"), full_page=True)
    publish_screenshots(shots)
