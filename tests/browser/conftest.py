"""Browser tests: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Skipped, with the reason, only when Chromium or Playwright is missing (the Makefile and
.ci/run install them). Shares the session's simulated store with the reporting tests.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reporting"))

from report_helpers import CHROMIUM, CHROMIUM_ARGS, build_world, service  # noqa: E402


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk; the Makefile does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    return None


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def data_service(world):
    return service(world)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (fresh profile, no network services)."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="aips-chromium-")
    pw = sync_playwright().start()
    ctx = pw.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-US",
    )
    yield ctx
    ctx.close()
    pw.stop()
    shutil.rmtree(profile, ignore_errors=True)


class Page:
    """A page with its console errors collected."""

    def __init__(self, ctx):
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture(scope="module")
def dashboard(data_service, world):
    """The dashboard on the world's store, served on a free port (one per test module)."""
    pytest.importorskip("dash", reason='the dashboard needs Dash: pip install "aips[app]"')
    from aips.dashboard.app import create_app
    from aips.dashboard.server import start

    running = start(create_app(service=data_service, brand=world.brand), "127.0.0.1", 0)
    yield running
    running.stop()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.page.close()
