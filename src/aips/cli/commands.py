"""The registry of CLI commands defined in their own modules: (name, function).

Each module imports only Typer and light helpers at import time; heavy work is imported
inside the command, so ``aips --help`` stays fast.
"""

from __future__ import annotations

from aips.cli.activation_cmd import audience_command, creators_command, diagnose_command
from aips.cli.attribution_cmd import attribute_command
from aips.cli.demo_cmd import demo_command
from aips.cli.engine_cmd import assets_command, series_command
from aips.cli.flows_cmd import competitors_command, flows_command, penetration_command
from aips.cli.info_cmd import info_command
from aips.cli.ingest_cmd import ingest_command
from aips.cli.insight_cmd import content_command, engagement_command, portrait_command
from aips.cli.outcomes_cmd import cycle_command, funnel_command, loyalty_command, roi_command
from aips.cli.planner_cmd import curves_command, forecast_command, plan_command
from aips.cli.report_cmd import report_command, serve_command
from aips.cli.simulate_cmd import simulate_command
from aips.cli.source_cmd import source_command

COMMANDS: list[tuple[str, object]] = [
    ("demo", demo_command),
    ("simulate", simulate_command),
    ("ingest", ingest_command),
    ("source", source_command),
    ("info", info_command),
    ("assets", assets_command),
    ("series", series_command),
    ("flows", flows_command),
    ("competitors", competitors_command),
    ("penetration", penetration_command),
    ("funnel", funnel_command),
    ("cycle", cycle_command),
    ("roi", roi_command),
    ("loyalty", loyalty_command),
    ("attribute", attribute_command),
    ("audience", audience_command),
    ("creators", creators_command),
    ("diagnose", diagnose_command),
    ("portrait", portrait_command),
    ("content", content_command),
    ("engagement", engagement_command),
    ("curves", curves_command),
    ("forecast", forecast_command),
    ("plan", plan_command),
    ("report", report_command),
    ("serve", serve_command),
]
