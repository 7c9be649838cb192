"""The report's Plan section: the planner's recommended split against the current one.

The budget is the brand's spend over the last :data:`PLAN_HORIZON` days of data; the
"current" split is how that spend was split across channels, and the recommended one the
planner's split of the same total for :data:`PLAN_GOAL` over the next
:data:`PLAN_HORIZON` days (:meth:`aips.planner.plan.Planner.recommend`). For each: spend per
channel, TI on the last day and purchases with their 90 % intervals, and TI per day with its
band (the fan chart). The planner is fitted once (``ws.planner(brand)``: one read of the
aggregates it learns from, on the report's caching workspace) and every forecast after that
is arithmetic on them.

When the planner cannot run for the brand (no campaigns, too few weeks, no recent spend)
the section is ``{"error": reason}``: the report says why in one line instead of failing.
The section function follows the contract of :mod:`aips.reporting.sections`.
"""

from __future__ import annotations

from aips.exceptions import AipsError
from aips.reporting.sections import Context

PLAN_HORIZON = 30
"""Days planned ahead, and days of spend the budget is taken from."""
PLAN_GOAL = "purchases"
"""What the recommended split maximises."""


def section_plan(ctx: Context) -> dict:
    """The recommended split of the last 30 days' budget against the current split (module doc)."""
    try:
        planner = ctx.ws.planner(ctx.brand)
        spent = planner.last_spend(PLAN_HORIZON)
        budget = float(sum(spent.values()))
        if budget <= 0:
            raise AipsError(f"{ctx.brand} spent nothing in the {PLAN_HORIZON} days to {planner.start}: "
                            "no budget to split")
        recommended = planner.recommend(budget, PLAN_HORIZON, PLAN_GOAL)
    except AipsError as err:  # the planner's own refusals; anything else is a bug: data.py notes it
        lines = str(err).strip().splitlines()
        return {"error": lines[0][:300] if lines else type(err).__name__, "brand": ctx.brand}
    current = planner.last_split(budget, PLAN_HORIZON)
    rows = [{"channel": c, "recommended": recommended[c], "current": current[c]} for c in planner.channels]
    return {
        "error": None, "brand": ctx.brand, "from": planner.start, "horizon": PLAN_HORIZON, "goal": PLAN_GOAL,
        "budget": budget, "rows": rows,
        "expected": {"recommended": planner.outcome(recommended, PLAN_HORIZON, PLAN_GOAL),
                     "current": planner.outcome(current, PLAN_HORIZON, PLAN_GOAL)},
        "fan": {"recommended": planner.fan(recommended, PLAN_HORIZON),
                "current": planner.fan(current, PLAN_HORIZON)},
    }
