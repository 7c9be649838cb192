"""Activation: audiences to export, creators to book, and the stage diagnosis with its playbook.

* :mod:`~aips.activation.audiences`: audiences (the pairs an :class:`~aips.crowd.AudienceSpec`
  selects, see :mod:`aips.crowd`), set operations and overlaps;
* :mod:`~aips.activation.export`: id files for ad platforms (raw or hashed, packs, manifest,
  atomic);
* :mod:`~aips.activation.creators`: KOL/KOC reach into a target crowd, seeding rates and a
  budgeted mix;
* :mod:`~aips.activation.diagnose` and :mod:`~aips.activation.playbook`: the leaking stage
  against the category, and what to do about it.

Each public function takes a :class:`~aips.view.View` first (``audience(view, ...)``,
``creators(view, ...)``, ``diagnose(view, ...)``); :class:`~aips.workspace.Workspace`
calls them.
"""

from aips.activation.audiences import (
    Audience,
    audience,
    audience_from_spec,
    build_table,
    combine,
    overlap,
)
from aips.activation.export import export_audience, id_expression
from aips.crowd import AudienceSpec, FlowCell, FunnelCell, parse_stages

__all__ = [
    "Audience",
    "AudienceSpec",
    "FlowCell",
    "FunnelCell",
    "audience",
    "audience_from_spec",
    "build_table",
    "combine",
    "export_audience",
    "id_expression",
    "overlap",
    "parse_stages",
]
