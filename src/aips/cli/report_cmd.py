"""``aips report`` (one self-contained HTML file per brand) and ``aips serve`` (the dashboard).

Registered by the main app as ``app.command("report")(report_command)`` and
``app.command("serve")(serve_command)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aips.cli.common import (
    BrandOpt,
    ConfigOpt,
    FromOpt,
    Lang,
    LevelOpt,
    StoreOpt,
    ToOpt,
    open_ws,
    store_options,
)


def report_command(
    brand: BrandOpt,
    start: FromOpt = None,
    end: ToOpt = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Labels and number formats: en, or zh (万/亿).")] = Lang.en,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write (self-contained: open it offline or e-mail it).")] = Path("report.html"),
    level: LevelOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a brand's crowd-asset report: cards, stages, flows, cycles, ROI, attribution, audiences, diagnosis.

    The period runs --from (default: 30 days before --to) to --to (default: the last day with
    data); --level sets the crowd-asset charts' entity (default here: brand).
    """
    from aips.cli.progress import stderr_console
    from aips.reporting.data import collect
    from aips.reporting.html import write_report

    console = stderr_console()  # shared with the Spark progress line (nested live displays)
    with open_ws(store, config, read_only=True) as ws, console.status("collecting the report") as status:
        ws.view.require(start=start, end=end, brands=brand, level=level.value if level else None)

        def progress(section: str, done: int, total: int) -> None:
            status.update(f"collecting the report: {section} ({done}/{total})")

        data = collect(ws, brand, start, end, level=level.value if level else "brand", langs=(lang.value,), progress=progress)
        status.update("writing the HTML")
        path = write_report(data, out, lang.value)
    shown = len(data.sections)
    console.print(f"wrote [bold]{path}[/bold] ({shown} sections in {data.seconds.get('total', 0):.0f} s"
                  + (f"; omitted: {', '.join(data.omitted)}" if data.omitted else "") + ")")
    typer.echo(str(path))


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to bind. Anything but loopback (127.0.0.1, ::1, localhost) needs --password or --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8050,
    password: Annotated[str | None, typer.Option("--password", envvar="AIPS_DASHBOARD_PASSWORD", help="Require HTTP basic auth with this password (any user name).")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="AIPS_DASHBOARD_TOKEN", help="Require this token (header Authorization: Bearer T, the login form, or ?token=T once; never logged).")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Default language of the dashboard.")] = Lang.en,
    brand: BrandOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the interactive dashboard: brand, period and level pickers, drill-down to audiences, export.

    --brand is the brand shown first (default: the one with most events).
    """
    from aips.dashboard.security import check_bind

    check_bind(host, password=password, token=token)  # before anything heavy is imported
    from aips.dashboard.app import create_app
    from aips.dashboard.server import serve

    app = create_app(store=store or os.environ.get("AIPS_STORE"), config=config, password=password,
                     token=token, lang=lang.value, brand=brand, spark=store_options().spark)
    serve(app, host=host, port=port, announce=lambda url: typer.echo(f"aips dashboard on {url} (Ctrl+C to stop)"))
