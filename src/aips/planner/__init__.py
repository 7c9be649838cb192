"""The planner (issue 17): response curves of spend, a forecast of the crowd asset, and the
split of a budget across channels.

* :mod:`aips.planner.history`: the small daily aggregates it learns from (backend work);
* :mod:`aips.planner.curves`: incremental stage advances per channel as a saturating
  function of daily spend, with bootstrap uncertainty and pooling across a category;
* :mod:`aips.planner.forecast`: the daily TI crowd and purchases under a plan, and its
  backtest;
* :mod:`aips.planner.allocate`: the split of a budget that maximises a goal (scipy SLSQP).
"""
