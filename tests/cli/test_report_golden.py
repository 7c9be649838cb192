"""The brand report's data on the demo world stays what it was (a regression net).

``golden/demo/report_serava.json`` holds every section of ``aips report --brand Serava``'s
data (tables as records), recorded before the house was reshaped (issue 12) and checked
against the pre-reshape code on the same store (the only difference was the row order of
the flow-rate comparison, now sorted by brand and stage). The Plan section is left out: its
numbers follow the planner's fits, which improve on their own schedule, and its own tests
check it against the planner and the campaigns (tests/reporting/test_report_plan.py). Record again, after a deliberate
change of results, with ``AIPS_RECORD_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os

import numpy as np
import pandas as pd
from cli_helpers import GOLDEN, close_json

import aips
from aips.reporting.data import SECTIONS, collect

GOLDEN_FILE = GOLDEN / "report_serava.json"


def _plain(x):
    """JSON-ready values: frames as records, numpy scalars as Python, NaN as None."""
    if isinstance(x, pd.DataFrame):
        return [_plain(r) for r in x.to_dict(orient="records")]
    if isinstance(x, pd.Series):
        return _plain(x.to_dict())
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (dt.date, dt.datetime, pd.Timestamp)):
        return str(x)
    if hasattr(x, "asdict"):
        return _plain(x.asdict())
    return x if x is None or isinstance(x, (str, int, bool)) else f"<{type(x).__name__}>"


def test_report_data_unchanged_on_demo_world(demo_store):
    with aips.open(demo_store) as ws:
        data = collect(ws, "Serava", langs=("en", "zh"), sections=[s for s in SECTIONS if s != "plan"])
    got = json.loads(json.dumps(_plain({
        "sections": data.sections, "omitted": data.omitted, "notes": data.notes,
        "period": str(data.period)}), sort_keys=True))
    if os.environ.get("AIPS_RECORD_GOLDEN") == "1":
        GOLDEN_FILE.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                               encoding="utf-8")
    assert GOLDEN_FILE.is_file(), f"missing golden file {GOLDEN_FILE} (record it with AIPS_RECORD_GOLDEN=1)"
    close_json(json.loads(GOLDEN_FILE.read_text(encoding="utf-8")), got)
