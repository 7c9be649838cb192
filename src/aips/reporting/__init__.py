"""The brand report: one self-contained HTML file (``aips report``), and the pieces the
dashboard (``aips serve``) reuses.

* :mod:`aips.reporting.sections` and :mod:`aips.reporting.data`: the report's data, from
  the workspace's Python API (the only modules that call it);
* :mod:`aips.reporting.charts`: Plotly figures from that data;
* :mod:`aips.reporting.labels`: English and Chinese labels, locale number formats;
* :mod:`aips.reporting.html`: the Jinja template rendered to one file, Plotly's JavaScript
  embedded once (no network needed to open it).

Typical use::

    import aips
    from aips.reporting import write_brand_report
    with aips.open("aips.duckdb") as ws:
        write_brand_report(ws, "Lumiere", "report.html", lang="zh")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aips.reporting.data import ReportData, collect
from aips.reporting.period import Period, resolve_period

__all__ = ["Period", "ReportData", "collect", "render_report", "resolve_period", "write_brand_report",
           "write_report"]


def render_report(data: ReportData, lang: str = "en") -> str:
    """The report as HTML text (see :func:`aips.reporting.html.render_report`)."""
    from aips.reporting.html import render_report as _render

    return _render(data, lang)


def write_report(data: ReportData, path: str | Path, lang: str = "en") -> Path:
    """Write the report atomically (see :func:`aips.reporting.html.write_report`)."""
    from aips.reporting.html import write_report as _write

    return _write(data, path, lang)


def write_brand_report(ws, brand: str, out: str | Path, *, start: Any = None, end: Any = None,
                       lang: str = "en", progress=None) -> tuple[Path, ReportData]:
    """Collect a brand's report and write it to ``out`` in ``lang``; returns the path and data."""
    from aips.reporting.labels import check_lang

    check_lang(lang)
    data = collect(ws, brand, start, end, langs=(lang,), progress=progress)
    return write_report(data, out, lang), data
