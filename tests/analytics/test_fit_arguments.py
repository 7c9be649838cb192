"""What callers used to write on a fitted object after fit() is now a fit() argument."""

from __future__ import annotations

import pandas as pd
import pytest

from aips.analytics.decision_cycle import CureCycleFitter, DecisionCycleFitter
from aips.analytics.roi import CampaignROI
from aips.exceptions import AipsError

KM = pd.DataFrame({"duration": [0, 1, 2, 3, 5, 8], "purchases": [2, 5, 4, 3, 2, 0],
                   "censored": [1, 0, 2, 1, 3, 30]})
DAILY = pd.DataFrame({"offset": [0, 3], "revenue": [100.0, 50.0], "orders": [1, 1],
                      "new_purchasers": [1, 1]})
GROUPS = pd.DataFrame({"holdout": [False, True], "n": [6, 4], "sum_y": [135.0, 40.0],
                       "sum_y2": [5512.5, 1600.0]})


def test_cycle_context_is_a_fit_argument():
    context = {"category": "c", "start": "first_touch", "brand": None}
    km = DecisionCycleFitter(n_bootstrap=0).fit(KM, context=context)
    assert km.context_ == context and km.context_ is not context
    assert DecisionCycleFitter(n_bootstrap=0).fit(KM).context_ is None
    assert CureCycleFitter(base="weibull").fit(KM, context=context).context_ == context
    assert "context" not in km.asdict()  # outputs unchanged


def test_roi_covariate_and_overlapping_campaigns_close_the_incremental_dict():
    r = CampaignROI(x=3).fit(DAILY, spend=100.0, touched_users=10, holdout_groups=GROUPS,
                            covariate="events in c in the 14 days before T",
                            overlapping_campaigns=("c2", "c3"))
    keys = list(r.incremental_)
    assert keys[-4:] == ["note", "contrast", "covariate", "overlapping_campaigns"]
    assert r.incremental_["contrast"] == "brand_holdout"  # the default: users.holdout
    assert r.incremental_["covariate"] == "events in c in the 14 days before T"
    assert r.incremental_["overlapping_campaigns"] == ["c2", "c3"]
    bare = CampaignROI(x=3).fit(DAILY, spend=100.0, touched_users=10, holdout_groups=GROUPS)
    assert bare.incremental_["covariate"] is None
    assert bare.incremental_["overlapping_campaigns"] is None  # not looked up
    no_holdout = CampaignROI(x=3).fit(DAILY, spend=100.0, touched_users=10,
                                      overlapping_campaigns=["c2"])
    assert no_holdout.incremental_ is None and "incremental" not in no_holdout.asdict()
    own = CampaignROI(x=3).fit(DAILY, spend=100.0, touched_users=10, holdout_groups=GROUPS,
                               overlapping_campaigns=[], contrast="campaign_holdout")
    assert own.incremental_["contrast"] == "campaign_holdout" and "per-campaign" in own.incremental_["note"]
    with pytest.raises(AipsError, match="contrast must be one of"):
        CampaignROI(x=3).fit(DAILY, spend=100.0, touched_users=10, contrast="global")
