"""Activation: audiences to export, creators to book, and the stage diagnosis with its playbook.

* :mod:`~aips.activation.spec` and :mod:`~aips.activation.audiences`: audience definitions
  and the (user, brand) pairs they select, set operations and overlaps;
* :mod:`~aips.activation.export`: id files for ad platforms (raw or hashed, packs, manifest,
  atomic);
* :mod:`~aips.activation.creators`: KOL/KOC reach into a target crowd, seeding rates and a
  budgeted mix;
* :mod:`~aips.activation.diagnose` and :mod:`~aips.activation.playbook`: the leaking stage
  against the category, and what to do about it.

The Workspace methods are in :class:`aips.activation_api.ActivationMixin`.
"""

from aips.activation.audiences import Audience, build_table, combine, overlap
from aips.activation.export import export_audience, id_expression
from aips.activation.spec import AudienceSpec, FlowCell, FunnelCell, parse_stages

__all__ = [
    "Audience",
    "AudienceSpec",
    "FlowCell",
    "FunnelCell",
    "build_table",
    "combine",
    "export_audience",
    "id_expression",
    "overlap",
    "parse_stages",
]
