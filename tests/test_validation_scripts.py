"""The validation scripts run: each, on a small world, exits 0 (its goals met) and prints its
table. By hand they run on bigger worlds (the command is in each script's docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {
    "outcomes_truth": (["--users", "3000", "--seed", "11"],
                       ["A. decision cycles", "B. incremental ROI", "C. demo world", "goals (at least"]),
    "attribution_truth": (["--preset", "demo", "--users", "2000", "--seed", "0", "--bootstrap", "10"],
                          ["| model | incremental |", "| TRUTH (simulator) |", "goal: incremental"]),
    # every family x holdout x untouched within 5 points at 400k units (~30 s)
    "incremental_worlds": (["--size", "400000"],
                           ["| family | holdout | untouched |", "| confounded | yes | no |",
                            "goal: every world within 5 points", "met (20 of 20 worlds)"]),
    # the demo world (4,000 users, half of each campaign's audience held out, ~50 s): intervals
    # cover as at any size; the error goal is the size's (median 104 % here, 62 % at 80k users)
    # --ideas: the variance-reduction table (validation/_roi_ideas.py) runs too (no goal)
    "campaign_roi_truth": (["--preset", "demo", "--share", "0.5", "--max-error", "1.5", "--min-coverage", "0.85",
                            "--ideas"],
                           ["per-campaign incremental ROI(T+x)", "met     median |relative error|",
                            "met     truth inside the 95 % interval", "| idea | campaigns |",
                            "| a. stage + prior revenue + days left |"]),
    # 20 seeds of tiny worlds, 60 resamples: coverage inside the 95 % binomial range of 90 % (~25 s)
    "interval_coverage": (["--seeds", "20", "--size", "30000", "--bootstrap", "60", "--binomial"],
                          ["| channel | true share |", "coverage:", "goal: coverage within"]),
    # two 6,000-user worlds with saturating delivery, and the forecast's backtest on them (~45 s)
    "planner_truth": (["--users", "6000"], ["| seed | budget | planner |", "| seed | from | TI forecast |",
                                            "goal: planner >= 90 %", "intervals: met"]),
}
"""Script -> (small-world arguments, lines its output must contain)."""

NOT_MET: dict[str, str] = {}
"""Scripts whose goal is not met yet: strict xfail, so meeting it turns the test red until this goes."""


def _run(name: str, args: list[str], work: Path) -> subprocess.CompletedProcess:
    extra = (["--workdir", str(work)] if name in ("outcomes_truth", "campaign_roi_truth", "planner_truth")
             else ["--world", str(work / "world")] if name == "attribution_truth" else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(ROOT / "validation" / f"{name}.py"), *args, *extra],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)


def test_every_script_is_listed():
    assert set(SCRIPTS) == {p.stem for p in (ROOT / "validation").glob("*.py") if not p.stem.startswith("_")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_meets_its_goals_on_a_small_world(name, tmp_path, request):
    if name in NOT_MET:
        request.applymarker(pytest.mark.xfail(strict=True, reason=NOT_MET[name]))
    args, expected = SCRIPTS[name]
    result = _run(name, args, tmp_path)
    tail = f"\n--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"validation/{name}.py exited {result.returncode}{tail}"
    for line in expected:
        assert line in result.stdout, f"validation/{name}.py did not print {line!r}{tail}"
