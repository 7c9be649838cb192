"""The dashboard in headless Chromium: charts drawn, cards right, brand switch, drill-down,
export; and who may reach it (loopback only unless a password or token is set)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from report_helpers import (
    assert_cards_match,
    engine_cards,
    plain_workspace,
    publish_screenshots,
    screenshot_dir,
)

from aips.exceptions import AipsError
from aips.reporting.labels import STAGE_NAMES

GRAPHS = ("g-stages", "g-trend", "g-sankey", "g-flowcmp", "g-cycles", "g-roi", "g-attr-p", "g-attr-ti",
          "g-diag", "g-portrait")

ALL_DRAWN = (
    "() => { const ids = " + str(list(GRAPHS)) + ";"
    " if (document.querySelector('[data-dash-is-loading=\"true\"]')) return false;"
    " return ids.every(id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
    " return g && g.querySelector('svg.main-svg'); }); }"
)
"""True once every graph has drawn its SVG and no callback is running."""


def _cards(page) -> dict[str, str]:
    return {c.get_attribute("data-metric"): c.get_attribute("data-value")
            for c in page.page.locator("#cards .card").all()}


def _stage_of(label: str) -> str:
    names = {f"{k} · {v}": k for k, v in STAGE_NAMES["en"].items() if k not in ("none", "I+TI")}
    names[STAGE_NAMES["en"]["none"]] = "none"
    return names[label.strip()]


def test_dashboard_charts_cards_drilldown_export_and_brand_switch(page, dashboard, world, tmp_path):
    p = page.page
    shots = screenshot_dir(tmp_path)
    p.goto(dashboard.url)
    p.wait_for_selector("#cards .card[data-metric='aips_total']", timeout=240_000)
    p.wait_for_function(ALL_DRAWN, timeout=300_000)
    assert page.errors == []
    expected = engine_cards(world, world.brand)
    assert_cards_match(_cards(page), expected)
    p.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    # drill-down: the TI bar of the stage chart -> the TI audience
    bar = p.locator("#g-stages .trace.bars").first.locator(".point").nth(2).locator("path").first
    box = bar.bounding_box()  # click inside the (short) bar itself, not on its text label
    p.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 1)
    p.wait_for_selector("#aud-size", timeout=60_000)
    assert int(p.locator("#aud-size").get_attribute("data-value")) == expected["ti"]

    # drill-down: a Sankey link -> that flow cell, equal to the engine's flow matrix
    p.locator("#g-sankey .sankey-link").nth(1).dispatch_event("click")
    p.wait_for_function("() => document.querySelector('#aud-body b') && document.querySelector('#aud-body b').innerText.includes('→')",
                        timeout=60_000)
    head = p.locator("#aud-body b").first.inner_text()
    src, dst = (_stage_of(x) for x in head.split(" · ", 1)[1].rstrip(": ").split(" → "))
    size = int(p.locator("#aud-size").get_attribute("data-value"))
    ws = plain_workspace(world.store)
    try:
        from aips.reporting.period import resolve_period

        per = resolve_period(ws)
        m = ws.flow_matrix(per.t0, per.t1).to_pyarrow().to_pandas()
    finally:
        ws.close()
    cell = m[(m.brand == world.brand) & (m.from_stage == src) & (m.to_stage == dst)]
    assert size == int(cell["users"].sum()) > 0

    with p.expect_download(timeout=60_000) as dl:
        p.click("#export")
    csv = tmp_path / "audience.csv"
    dl.value.save_as(str(csv))
    lines = csv.read_text().strip().splitlines()
    assert lines[0] == "sha256" and len(lines) == size + 1 and all(len(x) == 64 for x in lines[1:])
    p.screenshot(path=str(shots / "dashboard_drilldown.png"), full_page=True)

    # switch brand: the cards change, to the other brand's engine numbers
    before = _cards(page)
    p.click("#brand")
    p.locator(".Select-menu-outer, [role=listbox], .dash-dropdown-options").get_by_text(world.other, exact=True).first.click()
    p.wait_for_function(
        "(v) => { const c = document.querySelector(\"#cards .card[data-metric='aips_total']\");"
        " return c && c.getAttribute('data-value') !== v; }", arg=before["aips_total"], timeout=240_000)
    p.wait_for_function(ALL_DRAWN, timeout=300_000)
    after = _cards(page)
    assert after != before
    assert_cards_match(after, engine_cards(world, world.other))
    p.wait_for_timeout(500)
    p.screenshot(path=str(shots / "dashboard_other_brand.png"), full_page=False)

    # Chinese labels
    p.locator("#lang input[value='zh']").check()
    p.wait_for_function("() => document.querySelector('#t-stages').innerText.includes('各阶段人群资产')", timeout=60_000)
    p.wait_for_function("() => document.querySelector('#cards').innerText.includes('TI 深度兴趣人群')", timeout=120_000)
    p.wait_for_function(ALL_DRAWN, timeout=300_000)
    p.wait_for_timeout(500)
    p.screenshot(path=str(shots / "dashboard_zh.png"), full_page=False)
    assert page.errors == []
    publish_screenshots(shots)


# --- who may reach the dashboard --------------------------------------------------------------


def test_non_loopback_bind_without_a_secret_is_refused():
    from aips.dashboard.security import check_bind

    for host in ("0.0.0.0", "192.168.1.20", "::", "example.org"):
        with pytest.raises(AipsError, match="refusing to serve the dashboard"):
            check_bind(host)
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost"):
        check_bind(host)
    check_bind("0.0.0.0", password="pw")
    check_bind("0.0.0.0", token="tk")


def test_cli_serve_refuses_a_public_bind_without_a_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_DASHBOARD_PASSWORD", "AIPS_DASHBOARD_TOKEN")}
    code = "import sys; from aips.cli.app import main; sys.argv=['aips','serve','--host','0.0.0.0','--port','0']; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert "refusing to serve the dashboard on 0.0.0.0 without authentication" in proc.stderr
    assert "--password" in proc.stderr


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_password_and_token_are_checked_on_every_request(data_service):
    pytest.importorskip("dash", reason='the dashboard needs Dash: pip install "aips[app]"')
    from aips.dashboard.app import create_app
    from aips.dashboard.server import start

    running = start(create_app(service=data_service, password="pw", token="tk"), "127.0.0.1", 0)
    try:
        url = running.url
        status, headers = _get(url)
        assert status == 401 and "Basic" in headers.get("WWW-Authenticate", "")
        assert _get(url + "_dash-layout")[0] == 401
        wrong = base64.b64encode(b"me:nope").decode()
        assert _get(url, {"Authorization": f"Basic {wrong}"})[0] == 401
        good = base64.b64encode(b"me:pw").decode()
        assert _get(url, {"Authorization": f"Basic {good}"})[0] == 200
        status, headers = _get(url + "?token=tk")
        assert status == 200 and "aips_token=tk" in headers.get("Set-Cookie", "")
        assert _get(url + "_dash-layout", {"Cookie": "aips_token=tk"})[0] == 200
        assert _get(url + "_dash-layout", {"X-AIPS-Token": "tk"})[0] == 200
        assert _get(url + "?token=bad")[0] == 401
    finally:
        running.stop()


def test_token_is_never_logged_and_travels_in_a_header_or_a_cookie(caplog):
    """Issue 16 item 9: the access log masks ?token=; Bearer header, login form and cookie pass."""
    flask = pytest.importorskip("flask")
    import logging
    import urllib.parse

    from aips.dashboard.security import COOKIE, LOGIN, install_auth
    from aips.dashboard.server import start

    app = flask.Flask("t")
    app.add_url_rule("/", "index", lambda: "ok")
    app.add_url_rule("/data", "data", lambda: "data")
    app.aips_token = "s3cr3t-tk"
    install_auth(app, token="s3cr3t-tk")
    caplog.set_level(logging.INFO, logger="werkzeug")
    running = start(app, "127.0.0.1", 0)
    try:
        url = running.url
        status, headers = _get(url + "?token=s3cr3t-tk")
        assert status == 200
        cookie = headers.get("Set-Cookie", "")
        assert f"{COOKIE}=s3cr3t-tk" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert _get(url + "data", {"Authorization": "Bearer s3cr3t-tk"})[0] == 200
        assert _get(url + "data", {"Authorization": "Bearer nope"})[0] == 401
        assert _get(url + "data?token=wrong")[0] == 401
        assert _get(url + "data")[0] == 401
        status, headers = _get(url, {"Accept": "text/html"})
        assert status == 401 and "text/html" in headers.get("Content-Type", "")
        # the login form: a POST sets the session cookie and redirects to the page (no token in a URL)
        body = urllib.parse.urlencode({"token": "s3cr3t-tk"}).encode()
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(urllib.request.Request(url.rstrip("/") + LOGIN, data=body), timeout=60)
            raise AssertionError("expected a redirect")
        except urllib.error.HTTPError as err:
            assert err.code == 303 and err.headers["Location"].endswith("/")
            assert f"{COOKIE}=s3cr3t-tk" in err.headers.get("Set-Cookie", "")
        bad = urllib.parse.urlencode({"token": "x"}).encode()
        try:
            opener.open(urllib.request.Request(url.rstrip("/") + LOGIN, data=bad), timeout=60)
            raise AssertionError("expected a 401")
        except urllib.error.HTTPError as err:
            assert err.code == 401 and "Set-Cookie" not in err.headers
    finally:
        running.stop()
    logged = caplog.text
    assert "GET /?token=*** " in logged and "GET /data?token=*** " in logged
    assert "s3cr3t-tk" not in logged and "wrong" not in logged


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
