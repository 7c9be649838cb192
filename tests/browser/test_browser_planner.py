"""The dashboard's planner page in headless Chromium: it opens at ``#planner`` with the
last period's split on the sliders and the planner's forecast of it; Recommend fills the
sliders and the forecast follows, equal to a freshly fitted planner's."""

from __future__ import annotations

import pytest
from report_helpers import plain_workspace, publish_screenshots, screenshot_dir

PURCHASES = "#pl-outcome-table td[data-measure='purchases']"


def test_planner_page_forecasts_the_sliders_and_recommends(page, dashboard, world, tmp_path):
    p = page.page
    shots = screenshot_dir(tmp_path)
    p.goto(dashboard.url + "#planner")
    p.wait_for_selector(PURCHASES, timeout=300_000)
    p.wait_for_function("() => document.querySelector('#pl-fan .js-plotly-plot svg.main-svg')", timeout=60_000)
    ws = plain_workspace(world.store)
    try:
        planner = ws.planner(world.brand)
        budget = round(sum(planner.last_spend(30).values()))
        plan = ws.plan(world.brand, float(budget), 30, "purchases")
    finally:
        ws.close()
    start = {c: round(v, 2) for c, v in planner.last_split(budget, 30).items()}
    shown = float(p.locator(PURCHASES).get_attribute("data-value"))
    assert shown == pytest.approx(planner.outcome(start, 30)["purchases"], rel=1e-9)
    assert p.locator("#planner-page").is_visible() and not p.locator("#report-page").is_visible()
    p.screenshot(path=str(shots / "planner.png"), full_page=True)

    p.click("#pl-recommend")
    p.wait_for_function('(v) => { const c = document.querySelector("' + PURCHASES + '");'
                        " return c && c.getAttribute('data-value') !== v; }",
                        arg=p.locator(PURCHASES).get_attribute("data-value"), timeout=120_000)
    recommended = {c: round(v, 2) for c, v in plan["split"].items()}
    after = float(p.locator(PURCHASES).get_attribute("data-value"))
    assert after == pytest.approx(planner.outcome(recommended, 30)["purchases"], rel=1e-9)
    assert after >= shown - 1e-6
    p.screenshot(path=str(shots / "planner_recommended.png"), full_page=True)
    assert page.errors == []
    publish_screenshots(shots)
