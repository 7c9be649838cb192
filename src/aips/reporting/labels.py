"""Labels of the report and the dashboard in English and Chinese, and locale number formats.

Chinese counts use 万 (10^4) and 亿 (10^8) from ten thousand up; English counts use
thousands separators, then K/M/B in compact places (charts' hover, the dashboard's audience
sizes). Percentages keep one decimal; changes of a rate are in percentage points.

>>> fmt_count(123456, "zh"), fmt_count(123456, "en")
('12.3万', '123,456')
>>> fmt_count(312_000_000, "zh"), fmt_compact(1_234_567, "en")
('3.12亿', '1.23M')
>>> fmt_pct(0.1234), fmt_delta(110, 100, "count", "en"), fmt_delta(0.12, 0.10, "rate", "zh")
('12.3%', '+10.0%', '+2.0个百分点')
>>> t("cards.ti", "zh"), stage_label("TI", "en")
('TI 深度兴趣人群', 'TI · True Interest')
"""

from __future__ import annotations

import math
from typing import Any

from aips.config.model import CURRENCY

LANGS: tuple[str, ...] = ("en", "zh")

STAGE_NAMES = {
    "en": {"A": "Awareness", "I": "Interest", "TI": "True Interest", "P": "Purchase", "S": "Share",
           "none": "no level", "I+TI": "Seeded (I+TI)"},
    "zh": {"A": "认知", "I": "兴趣", "TI": "深度兴趣", "P": "购买", "S": "分享",
           "none": "无层级", "I+TI": "种草人群 (I+TI)"},
}

_EN: dict[str, str] = {
    "title": "AIPS crowd-asset report — {brand}",
    "subtitle": "Period {start} to {end} ({days} days), compared with {prev_start} to {prev_end}",
    "generated": "Generated {when} from {store}",
    "category": "Category",
    "level": "Level",
    "cards.aips_total": "AIPS total",
    "cards.ti": "TI crowd",
    "cards.new_ti": "New TI in period",
    "cards.i_ti": "Seeded crowd (I+TI)",
    "cards.penetration": "Penetration",
    "cards.roi": "ROI(T+x) of the period's campaigns",
    "cards.vs_prev": "vs previous period",
    "cards.no_prev": "no previous value",
    "cards.partial": "partial: T+x runs past the data's end",
    "cards.no_campaigns": "no campaign launched in the period",
    "sec.summary": "Headline",
    "sec.stages": "Crowd asset by stage",
    "sec.stages.note": "Exclusive levels (each user-brand pair counted once, at its highest stage) "
                       "and cumulative views (pairs at or above the stage) on {end}.",
    "sec.trend": "Daily trend of the crowd asset",
    "sec.trend.note": "Exclusive levels per day, {start} to {end}; the shaded band is the report period.",
    "sec.flows": "Flows {t0} → {t1}",
    "sec.flows.note": "Each pair's level on {t0} (left) and on {t1} (right). Flow rate of a stage = "
                      "pairs that moved up from it ÷ pairs in it on {t0}.",
    "sec.flow_compare": "Flow rates against the category's other brands",
    "sec.competitors": "Competitors in {category}",
    "sec.cycles": "Decision cycles by category",
    "sec.cycles.note": "Kaplan-Meier on (user, brand) pairs from first touch to first purchase. The curve "
                       "is the share of eventual buyers who have not bought yet; the median decision "
                       "cycle is where it crosses 50 %; the dashed line marks the configured x.",
    "sec.roi": "ROI(T+x) by campaign",
    "sec.roi.note": "Attributed ROI: revenue from touched users' purchases in T..T+x over spend "
                    "(credits everything they bought: not causal). Incremental ROI (holdout contrast, "
                    "with its 95 % interval) where the data has a holdout.",
    "sec.attribution": "Attribution by channel",
    "sec.attribution.purchase": "Purchases",
    "sec.attribution.ti": "Advances to TI",
    "sec.attribution.note": "Share of credited conversions per channel under each model. Path models "
                            "credit reach, not cause; the incremental model (where shown) estimates "
                            "caused conversions and puts the rest in 'baseline'.",
    "sec.creators": "Creators for the TI crowd",
    "sec.creators.note": "KOL/KOC ranked by expected seeded TI users (reach in the crowd × shrunk "
                         "seeding rate); lift 1.0 = seeds as well as the average note.",
    "sec.audiences": "Suggested audiences",
    "sec.portrait": "Portrait of the TI crowd",
    "sec.portrait.note": "TGI = share in the TI crowd ÷ share in the category audience × 100 "
                         "(100 = same as the category). Values with too few users are greyed.",
    "sec.content": "Content that moves each stage",
    "sec.content.note": "Formats and keywords whose touches are followed by the next advance more "
                        "often than the brand's average (lift > 1).",
    "sec.diagnosis": "Diagnosis",
    "sec.methods": "Methods and data",
    "diag.leak": "Leaking stage",
    "diag.focus": "Weakest stage (no significant leak)",
    "diag.none": "No stage is below the category median.",
    "diag.evidence": "Evidence",
    "diag.playbook": "Playbook",
    "diag.actions": "Next actions",
    "diag.strategies": "Strategies",
    "diag.content": "Content",
    "diag.watch": "Watch",
    "diag.audience": "Retarget the {size} pairs stuck in {stage} since {t0}",
    "diag.creators": "Creators that seed this brand's TI crowd best (see above): {names}",
    "diag.channel": "Paid channel moving {target} best (Markov, credits reach): {channel} ({share} of advances)",
    "col.stage": "Stage",
    "col.exclusive": "Exclusive",
    "col.cumulative": "Cumulative",
    "col.users": "Pairs",
    "col.previous": "On {date}",
    "col.change": "Change",
    "sec.interests": "Interests of the TI crowd (top TGI per dimension)",
    "col.date": "Date",
    "col.brand": "Brand",
    "col.channel": "Channel",
    "col.model": "Model",
    "col.share": "Share",
    "col.campaign": "Campaign",
    "col.launch": "Launch (T)",
    "col.x": "x (days)",
    "col.spend": "Spend",
    "col.revenue": "Revenue",
    "col.roi": "ROI(T+x)",
    "col.iroi": "Incremental ROI",
    "col.touched": "Touched users",
    "col.new_ti": "New TI",
    "col.complete": "Complete",
    "col.creator": "Creator",
    "col.tier": "Tier",
    "col.followers": "Followers",
    "col.reach": "Reach in crowd",
    "col.seeding_rate": "Seeding rate",
    "col.lift": "Seeding lift",
    "col.expected": "Expected seeded",
    "col.fee": "Fee per note",
    "col.audience": "Audience",
    "col.definition": "Definition",
    "col.size": "Users",
    "col.command": "Export with",
    "col.dimension": "Dimension",
    "col.value": "Value",
    "col.crowd_share": "Share in TI",
    "col.baseline_share": "Share in category",
    "col.tgi": "TGI",
    "col.advance": "Advance",
    "col.touched_users": "Touched",
    "col.rate": "Advance rate",
    "col.metric": "Metric",
    "col.median": "Category median",
    "col.top": "Top quartile",
    "col.gap": "Gap",
    "col.aips": "AIPS",
    "col.ti": "TI",
    "col.i_ti": "I+TI",
    "col.ti_share": "TI share",
    "col.penetration": "Penetration",
    "col.flow_rate": "Flow rate",
    "col.at_t0": "In stage at t0",
    "col.moved_up": "Moved up",
    "col.category": "Category",
    "col.median_days": "Median (days)",
    "col.p80_days": "P80 (days)",
    "col.configured_x": "Configured x",
    "col.converted": "Converted share",
    "axis.days_since_first_touch": "Days since first touch",
    "axis.not_bought": "Eventual buyers not yet bought",
    "axis.days_since_launch": "Days since launch (x)",
    "axis.roi": "ROI (revenue ÷ spend)",
    "axis.pairs": "User-brand pairs",
    "axis.flow_rate": "Flow rate",
    "axis.share": "Share of conversions",
    "axis.tgi": "TGI (100 = category)",
    "axis.advance_rate": "Advance rate",
    "legend.exclusive": "Exclusive",
    "legend.cumulative": "Cumulative (at or above)",
    "legend.attributed": "attributed",
    "legend.incremental": "incremental (95 % CI)",
    "legend.median": "median",
    "legend.brand": "{brand}",
    "legend.category_median": "category median",
    "legend.top_quartile": "top quartile",
    "legend.break_even": "break-even",
    "legend.period": "report period",
    "legend.configured_x": "configured x",
    "move.new": "new", "move.up": "up", "move.stay": "stay", "move.down": "down", "move.churned": "churned",
    "aud.ti_not_bought": "TI crowd (not yet bought)",
    "aud.seeded": "Seeded crowd (I+TI)",
    "aud.stuck": "Stuck in {stage} since {t0}",
    "aud.new_ti": "Moved up to TI in the period",
    "aud.lapsed_ti": "Fell out of TI in the period",
    "aud.competitor_ti": "Competitors' TI crowd",
    "methods.rules": "Stage rules (exclusive level = highest stage whose rule holds, S > P > TI > I > A)",
    "methods.window": "window",
    "methods.cycle_window": "the category's decision cycle x",
    "methods.timezone": "Days are local calendar days in {tz}.",
    "methods.cycles": "Decision cycles x (configured)",
    "methods.data_range": "Data: events from {first} to {last} ({events} events); {brand} has {pairs} user-brand pairs with a level on {end}.",
    "methods.quarantine": "Rows quarantined at load: {n}",
    "methods.quarantine_none": "Rows quarantined at load: none",
    "methods.loaded": "Rows loaded: {n} in {loads} load(s).",
    "methods.default": "default {n}",
    "col.rule": "Rule",
    "punct.end": ".",
    "methods.period": "Period: {start} to {end}; previous period: {prev_start} to {prev_end}; the flows "
                      "compare the day before the period ({t0}) with its last day ({t1}).",
    "methods.cards": "Cards: stage counts on {end} against {prev_end}; new TI = pairs first at TI or above "
                     "during the period; penetration = AIPS users ÷ the category's audience; ROI(T+x) = "
                     "Σ revenue ÷ Σ spend over the brand's campaigns launched in the period (attributed).",
    "methods.attribution": "Attribution uses every conversion in the store (not only the period).",
    "methods.omitted": "Sections omitted",
    "methods.notes": "Notes",
    "methods.timing": "Computed in {seconds} s.",
    "dash.brand": "Brand", "dash.dates": "Period", "dash.level": "Level", "dash.lang": "Language",
    "dash.export": "Export CSV", "dash.audience": "Audience", "dash.report": "Download report (HTML)", "dash.click_hint":
        "Click a stage bar or a Sankey link to see that audience.",
    "dash.hashed": "ids are SHA-256 hashes (first 16 hex digits shown)",
    "dash.size": "{size} pairs",
    "dash.none_selected": "No audience selected yet.",
    "na": "n/a",
}

_ZH: dict[str, str] = {
    "title": "AIPS 人群资产报告 — {brand}",
    "subtitle": "统计周期 {start} 至 {end}（{days} 天），对比 {prev_start} 至 {prev_end}",
    "generated": "生成于 {when}，数据来自 {store}",
    "category": "品类",
    "level": "层级",
    "cards.aips_total": "AIPS 人群总量",
    "cards.ti": "TI 深度兴趣人群",
    "cards.new_ti": "周期内新增 TI",
    "cards.i_ti": "种草人群 (I+TI)",
    "cards.penetration": "人群渗透率",
    "cards.roi": "周期内投放 ROI(T+x)",
    "cards.vs_prev": "较上一周期",
    "cards.no_prev": "无上期数据",
    "cards.partial": "部分：T+x 超出数据截止日",
    "cards.no_campaigns": "周期内没有新投放",
    "sec.summary": "核心指标",
    "sec.stages": "各阶段人群资产",
    "sec.stages.note": "{end} 的独占层级（每个用户-品牌对只计入其最高阶段）与累计口径（处于该阶段及以上）。",
    "sec.trend": "人群资产每日趋势",
    "sec.trend.note": "{start} 至 {end} 每日的独占层级人数；阴影为统计周期。",
    "sec.flows": "人群流转 {t0} → {t1}",
    "sec.flows.note": "左侧为 {t0} 的层级，右侧为 {t1} 的层级。某阶段的流转率 = 从该阶段向上流转的人数 ÷ {t0} 处于该阶段的人数。",
    "sec.flow_compare": "与品类内其他品牌的流转率对比",
    "sec.competitors": "{category} 品类竞品",
    "sec.cycles": "各品类决策周期",
    "sec.cycles.note": "以首次触达到首次购买的 Kaplan-Meier 估计（用户-品牌对）。曲线为最终购买者中尚未购买的比例，"
                       "跌破 50% 处为决策周期中位数；虚线为配置的 x。",
    "sec.roi": "各投放的 ROI(T+x)",
    "sec.roi.note": "归因 ROI：被触达用户在 T..T+x 内的购买金额 ÷ 花费（包含本来就会发生的购买，非因果）。"
                    "有对照组（holdout）时给出增量 ROI 及其 95% 置信区间。",
    "sec.attribution": "渠道归因",
    "sec.attribution.purchase": "购买",
    "sec.attribution.ti": "进入 TI",
    "sec.attribution.note": "各模型下各渠道获得的转化占比。路径模型衡量触达而非因果；增量模型（如有）估计由渠道带来的转化，其余计入 baseline。",
    "sec.creators": "适合 TI 人群的达人",
    "sec.creators.note": "按预计种草的 TI 用户数排序（人群内触达 × 收缩后的种草率）；种草提升 1.0 表示与平均笔记相当。",
    "sec.audiences": "推荐人群包",
    "sec.portrait": "TI 人群画像",
    "sec.portrait.note": "TGI = TI 人群中的占比 ÷ 品类人群中的占比 × 100（100 表示与品类相同）。样本过少的取值以灰色显示。",
    "sec.content": "推动各阶段流转的内容",
    "sec.content.note": "触达后进入下一阶段的比例高于品牌平均水平（提升 > 1）的内容形式与搜索词。",
    "sec.diagnosis": "诊断",
    "sec.methods": "方法与数据说明",
    "diag.leak": "流失环节",
    "diag.focus": "最弱环节（无显著流失）",
    "diag.none": "所有环节均不低于品类中位数。",
    "diag.evidence": "依据",
    "diag.playbook": "策略手册",
    "diag.actions": "下一步行动",
    "diag.strategies": "策略",
    "diag.content": "内容类型",
    "diag.watch": "关注指标",
    "diag.audience": "再营销自 {t0} 起停留在 {stage} 的 {size} 个用户-品牌对",
    "diag.creators": "最能为本品牌 TI 人群种草的达人（见上文）：{names}",
    "diag.channel": "最能推动进入 {target} 的付费渠道（Markov 归因，反映触达）：{channel}（占 {share}）",
    "col.stage": "阶段",
    "col.exclusive": "独占口径",
    "col.cumulative": "累计口径",
    "col.users": "人数",
    "col.previous": "{date}",
    "col.change": "变化",
    "sec.interests": "TI 人群兴趣（各维度 TGI 最高的取值）",
    "col.date": "日期",
    "col.brand": "品牌",
    "col.channel": "渠道",
    "col.model": "模型",
    "col.share": "占比",
    "col.campaign": "投放",
    "col.launch": "上线日 (T)",
    "col.x": "x（天）",
    "col.spend": "花费",
    "col.revenue": "成交金额",
    "col.roi": "ROI(T+x)",
    "col.iroi": "增量 ROI",
    "col.touched": "触达用户",
    "col.new_ti": "新增 TI",
    "col.complete": "完整",
    "col.creator": "达人",
    "col.tier": "类型",
    "col.followers": "粉丝数",
    "col.reach": "人群内触达",
    "col.seeding_rate": "种草率",
    "col.lift": "种草提升",
    "col.expected": "预计种草",
    "col.fee": "单篇报价",
    "col.audience": "人群包",
    "col.definition": "定义",
    "col.size": "人数",
    "col.command": "导出命令",
    "col.dimension": "维度",
    "col.value": "取值",
    "col.crowd_share": "TI 人群占比",
    "col.baseline_share": "品类人群占比",
    "col.tgi": "TGI",
    "col.advance": "流转",
    "col.touched_users": "触达",
    "col.rate": "流转率",
    "col.metric": "指标",
    "col.median": "品类中位数",
    "col.top": "前 25% 水平",
    "col.gap": "差距",
    "col.aips": "AIPS",
    "col.ti": "TI",
    "col.i_ti": "I+TI",
    "col.ti_share": "TI 份额",
    "col.penetration": "渗透率",
    "col.flow_rate": "流转率",
    "col.at_t0": "期初人数",
    "col.moved_up": "向上流转",
    "col.category": "品类",
    "col.median_days": "中位数（天）",
    "col.p80_days": "P80（天）",
    "col.configured_x": "配置的 x",
    "col.converted": "转化比例",
    "axis.days_since_first_touch": "首次触达后天数",
    "axis.not_bought": "最终购买者中尚未购买的比例",
    "axis.days_since_launch": "上线后天数 (x)",
    "axis.roi": "ROI（成交 ÷ 花费）",
    "axis.pairs": "用户-品牌对",
    "axis.flow_rate": "流转率",
    "axis.share": "转化占比",
    "axis.tgi": "TGI（100 = 品类水平）",
    "axis.advance_rate": "流转率",
    "legend.exclusive": "独占口径",
    "legend.cumulative": "累计口径（该阶段及以上）",
    "legend.attributed": "归因",
    "legend.incremental": "增量（95% 置信区间）",
    "legend.median": "中位数",
    "legend.brand": "{brand}",
    "legend.category_median": "品类中位数",
    "legend.top_quartile": "前 25% 水平",
    "legend.break_even": "盈亏平衡",
    "legend.period": "统计周期",
    "legend.configured_x": "配置的 x",
    "move.new": "新增", "move.up": "上升", "move.stay": "保持", "move.down": "下降", "move.churned": "流失",
    "aud.ti_not_bought": "TI 人群（尚未购买）",
    "aud.seeded": "种草人群 (I+TI)",
    "aud.stuck": "自 {t0} 起停留在 {stage}",
    "aud.new_ti": "周期内升至 TI",
    "aud.lapsed_ti": "周期内跌出 TI",
    "aud.competitor_ti": "竞品 TI 人群",
    "methods.rules": "阶段规则（独占层级 = 规则成立的最高阶段，S > P > TI > I > A）",
    "methods.window": "窗口",
    "methods.cycle_window": "品类决策周期 x",
    "methods.timezone": "日期为 {tz} 时区的自然日。",
    "methods.cycles": "决策周期 x（配置值）",
    "methods.data_range": "数据：事件日期 {first} 至 {last}（共 {events} 条事件）；{end} {brand} 有层级的用户-品牌对共 {pairs} 个。",
    "methods.quarantine": "加载时隔离的行数：{n}",
    "methods.quarantine_none": "加载时隔离的行数：无",
    "methods.loaded": "已加载行数：{n}（{loads} 次加载）。",
    "methods.default": "默认 {n}",
    "col.rule": "规则",
    "punct.end": "。",
    "methods.period": "统计周期：{start} 至 {end}；上一周期：{prev_start} 至 {prev_end}；流转对比周期前一天（{t0}）与周期最后一天（{t1}）。",
    "methods.cards": "卡片：{end} 的阶段人数对比 {prev_end}；新增 TI = 周期内首次达到 TI 及以上的用户-品牌对；"
                     "渗透率 = AIPS 用户 ÷ 品类人群；ROI(T+x) = 周期内上线投放的成交金额之和 ÷ 花费之和（归因口径）。",
    "methods.attribution": "渠道归因使用库中全部转化（不限于统计周期）。",
    "methods.omitted": "未展示的部分",
    "methods.notes": "备注",
    "methods.timing": "计算耗时 {seconds} 秒。",
    "dash.brand": "品牌", "dash.dates": "周期", "dash.level": "层级", "dash.lang": "语言",
    "dash.export": "导出 CSV", "dash.audience": "人群包", "dash.report": "下载报告 (HTML)", "dash.click_hint": "点击阶段柱或桑基图连线查看对应人群。",
    "dash.hashed": "ID 为 SHA-256 哈希（显示前 16 位）",
    "dash.size": "{size} 人",
    "dash.none_selected": "尚未选择人群。",
    "na": "暂无",
}

LABELS: dict[str, dict[str, str]] = {"en": _EN, "zh": _ZH}


def check_lang(lang: str) -> str:
    """``lang`` if supported, else a :class:`~aips.exceptions.ConfigError`."""
    if lang not in LANGS:
        from aips.exceptions import ConfigError

        raise ConfigError(f"unknown language {lang!r} (en or zh)")
    return lang


def t(key: str, lang: str = "en", **values: Any) -> str:
    """The label ``key`` in ``lang`` (English when missing), formatted with ``values``."""
    text = LABELS.get(lang, _EN).get(key) or _EN.get(key, key)
    return text.format(**values) if values else text


def stage_label(stage: str, lang: str = "en") -> str:
    """``TI · True Interest`` / ``TI 深度兴趣``."""
    name = STAGE_NAMES.get(lang, STAGE_NAMES["en"]).get(stage)
    if name is None:
        return stage
    if stage in ("none", "I+TI"):
        return name
    return f"{stage} · {name}" if lang == "en" else f"{stage} {name}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _trim(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_count(value: Any, lang: str = "en") -> str:
    """A count as people read it: ``12.3万`` / ``123,456`` (``1.2M`` above a million in English)."""
    if _missing(value):
        return t("na", lang)
    v = float(value)
    a = abs(v)
    if lang == "zh":
        if a >= 1e8:
            return f"{_trim(v / 1e8, 2)}亿"
        if a >= 1e4:
            return f"{_trim(v / 1e4, 1 if a < 1e6 else 0)}万"
        return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"
    if a >= 1e6:
        return fmt_compact(v, lang)
    return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"


def fmt_compact(value: Any, lang: str = "en") -> str:
    """Short counts: ``1.2K``, ``3.4M``, ``5.6B`` / ``1.2万``, ``3.4亿``."""
    if _missing(value):
        return t("na", lang)
    v = float(value)
    a = abs(v)
    if lang == "zh":
        if a >= 1e8:
            return f"{_trim(v / 1e8, 2)}亿"
        if a >= 1e4:
            return f"{_trim(v / 1e4, 1)}万"
        return f"{v:,.0f}"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            return f"{_trim(v / size, 2 if a < 10 * size else 1)}{suffix}"
    return f"{v:,.0f}"


def fmt_money(value: Any, lang: str = "en", currency: str = CURRENCY) -> str:
    """An amount after the model's currency symbol: ``¥12,345`` / ``¥1.23万``.

    >>> fmt_money(1234.4, "en", "$")
    '$1,234'
    """
    if _missing(value):
        return t("na", lang)
    v = float(value)
    if lang == "zh" and abs(v) >= 1e4:
        return currency + fmt_compact(v, "zh")
    if lang == "en" and abs(v) >= 1e6:
        return currency + fmt_compact(v, "en")
    return f"{currency}{v:,.0f}"


def fmt_pct(value: Any, digits: int = 1, lang: str = "en") -> str:
    """``12.3%``."""
    if _missing(value):
        return t("na", lang)
    return f"{float(value) * 100:.{digits}f}%"


def fmt_ratio(value: Any, lang: str = "en") -> str:
    """An ROI: ``4.49``."""
    if _missing(value):
        return t("na", lang)
    return f"{float(value):.2f}"


def fmt_value(value: Any, kind: str, lang: str = "en", currency: str = CURRENCY) -> str:
    """Format by kind: ``count``, ``rate`` (a share), ``ratio`` (ROI), ``money`` (in ``currency``)."""
    if kind == "count":
        return fmt_count(value, lang)
    if kind == "rate":
        return fmt_pct(value, 1, lang)
    if kind == "ratio":
        return fmt_ratio(value, lang)
    if kind == "money":
        return fmt_money(value, lang, currency)
    return str(value)


def delta(current: Any, previous: Any, kind: str) -> float | None:
    """The change shown on a card: relative for counts and money, absolute for rates and ratios."""
    if _missing(current) or _missing(previous):
        return None
    cur, prev = float(current), float(previous)
    if kind in ("count", "money"):
        return None if prev == 0 else cur / prev - 1.0
    return cur - prev


def fmt_delta(current: Any, previous: Any, kind: str, lang: str = "en") -> str:
    """``+10.0%`` for counts, ``+2.0 pp`` / ``+2.0个百分点`` for rates, ``+0.35`` for ratios."""
    d = delta(current, previous, kind)
    if d is None:
        return t("na", lang)
    if kind in ("count", "money"):
        return f"{d * 100:+.1f}%"
    if kind == "rate":
        return f"{d * 100:+.1f}" + ("个百分点" if lang == "zh" else " pp")
    return f"{d:+.2f}"
