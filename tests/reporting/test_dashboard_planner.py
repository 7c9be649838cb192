"""The dashboard's planner page, callback by callback on the session's simulated store: a
slider move forecasts exactly what a freshly fitted planner forecasts for that split (and
asks the store nothing), recommend fills the sliders with ``ws.plan``'s split, and a brand
the planner cannot serve says why."""

from __future__ import annotations

import pytest
from report_helpers import plain_workspace, service

from aips.dashboard.planner_page import PAGE


@pytest.fixture(scope="module")
def app(world):
    pytest.importorskip("dash", reason='the dashboard needs Dash: pip install "aips[app]"')
    from aips.dashboard.app import create_app

    return create_app(service=service(world), brand=world.brand)


@pytest.fixture(scope="module")
def oracle(world):
    """The brand's planner fitted from a plain workspace (not the dashboard's cache)."""
    ws = plain_workspace(world.store)
    try:
        planner = ws.planner(world.brand)
        planner.price("revenue")
        yield planner
    finally:
        ws.close()


def callback(app, output: str):
    """The plain function behind the callback whose outputs include ``output``."""
    for key, entry in app.callback_map.items():
        if output in key:
            return entry["callback"].__wrapped__
    raise KeyError(output)


def props(component) -> list[dict]:
    """Every Dash component's props in a tree, depth first."""
    if isinstance(component, (list, tuple)):
        return [p for c in component for p in props(c)]
    if not hasattr(component, "to_plotly_json"):
        return []
    own = component.to_plotly_json()["props"]
    return [own, *props(own.get("children"))]


def setup(app, world):
    budget, status = callback(app, "pl-budget.value")(world.brand, PAGE, "en")
    sliders, last = callback(app, "pl-sliders.children")(budget, 30, "en", world.brand)
    found = [p for p in props(sliders) if isinstance(p.get("id"), dict)]
    return budget, status, [p["id"] for p in found], [p["value"] for p in found], last


def test_slider_move_forecasts_that_split_without_asking_the_store(app, world, oracle, monkeypatch):
    budget, status, ids, values, _ = setup(app, world)
    assert budget == round(sum(oracle.last_spend(30).values())) and budget > 0
    assert "spent over the 30 days to" in status
    assert [i["channel"] for i in ids] == oracle.channels
    start = oracle.last_split(budget, 30)
    assert values == pytest.approx([round(start[c], 2) for c in oracle.channels])

    moved = list(values)
    moved[0] += 0.4 * budget  # drag the first channel's slider up
    svc = app.aips_service
    monkeypatch.setattr(svc, "api", lambda: pytest.fail("a slider move asked the store"))
    fig, outcome, total = callback(app, "pl-fan.figure")(moved, "purchases", "en", ids, world.brand, 30, budget)
    split = {i["channel"]: v for i, v in zip(ids, moved, strict=True)}
    expected = oracle.outcome(split, 30, "purchases")
    shown = {p["data-measure"]: float(p["data-value"]) for p in props(outcome) if "data-measure" in p}
    assert shown == pytest.approx({"TI": expected["TI"], "purchases": expected["purchases"]}, rel=1e-12)
    fan = oracle.fan(split, 30)
    lines = [tr for tr in fig.data if tr.name]
    assert list(lines[0].y) == pytest.approx(fan["TI"], rel=1e-12)  # the sliders' fan first
    same_total = oracle.fan(oracle.last_split(sum(moved), 30), 30)
    assert list(lines[1].y) == pytest.approx(same_total["TI"], rel=1e-12)  # the last split, same total
    assert "Sliders total" in total

    revenue = callback(app, "pl-fan.figure")(moved, "revenue", "en", ids, world.brand, 30, budget)[1]
    shown = {p["data-measure"]: float(p["data-value"]) for p in props(revenue) if "data-measure" in p}
    assert shown["revenue"] == pytest.approx(oracle.outcome(split, 30, "revenue")["revenue"], rel=1e-12)


def test_recommend_fills_the_sliders_with_the_plan(app, world):
    budget, _, ids, _, _ = setup(app, world)
    filled = callback(app, '"type":"pl-slider"}.value')(1, ids, world.brand, budget, 30, "TI")
    ws = plain_workspace(world.store)
    try:
        plan = ws.plan(world.brand, float(budget), 30, "TI")
    finally:
        ws.close()
    assert filled == pytest.approx([round(plan["split"][i["channel"]], 2) for i in ids], abs=0.01)


def test_pages_switch_on_the_fragment(app, world):
    from aips._compat.dash import load_dash

    page = callback(app, "report-page.style")
    assert page(PAGE) == ({"display": "none"}, {})
    assert page("") == ({}, {"display": "none"})
    core = callback(app, "cards.children")  # the report's sections wait while the planner is shown
    period = app.aips_service.period()
    pickers = (world.brand, str(period.start), str(period.end), "brand", "en")
    assert core(*pickers, PAGE) == (load_dash().no_update,) * 7
    assert core(*pickers, "")[-1].startswith(world.brand)  # back on the report: core-done is set


def test_a_brand_the_planner_cannot_serve_says_why(app, world):
    budget, status = callback(app, "pl-budget.value")("NoSuchBrand", PAGE, "zh")
    assert budget is None and status.startswith("规划器无法为 NoSuchBrand 运行：")
    from aips._compat.dash import load_dash

    off_page = callback(app, "pl-budget.value")(world.brand, "", "en")  # not shown: nothing fitted
    assert off_page == (load_dash().no_update,) * 2


def test_planner_page_in_chinese(app, world):
    budget, status = callback(app, "pl-budget.value")(world.brand, PAGE, "zh")
    sliders, last = callback(app, "pl-sliders.children")(budget, 30, "zh", world.brand)
    found = [p for p in props(sliders) if isinstance(p.get("id"), dict)]
    fig, outcome, total = callback(app, "pl-fan.figure")([p["value"] for p in found], "purchases", "zh",
                                                          [p["id"] for p in found], world.brand, 30, budget)
    texts = [status, total, *(str(p.get("children")) for p in props([outcome, last]) if isinstance(p.get("children"), str)),
             *(tr.name for tr in fig.data if tr.name), fig.layout.yaxis.title.text]
    assert "默认预算" in status and "滑块合计" in total
    for label in ("滑块分配", "上期分配", "购买人数", "末日深度兴趣人数", "占比", "深度兴趣人数"):
        assert label in texts, label
    labels = callback(app, "pl-l-brand.children")("zh")
    assert "投放规划" in labels and "推荐分配" in labels
