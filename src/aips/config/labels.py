"""The one catalogue of what a user reads, in English and Chinese, and locale number formats.

Every face (the CLI, the diagnosis, the report, the dashboard) takes its words from the data
file ``labels.yaml`` beside this module, by key: ``t("cards.ti", "zh")``. Keys are grouped by
prefix (``diag.`` the diagnosis, ``cli.`` the command line's titles and notes, ``col.`` column
headers, ``metric.`` metric names, ``sec.`` report sections, ``dash.`` the dashboard). The
playbook's strategies are a data file of their own (:mod:`aips.activation.playbook`),
because users replace them with theirs.

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
from importlib import resources
from typing import Any

import yaml

from aips.config.model import CURRENCY

LANGS: tuple[str, ...] = ("en", "zh")


def _catalogue() -> dict[str, Any]:
    """The shipped ``labels.yaml``: stage names and every label, by language."""
    text = resources.files("aips.config").joinpath("labels.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


_CATALOGUE = _catalogue()
STAGE_NAMES: dict[str, dict[str, str]] = _CATALOGUE["stage_names"]
LABELS: dict[str, dict[str, str]] = _CATALOGUE["labels"]
_EN: dict[str, str] = LABELS["en"]
_ZH: dict[str, str] = LABELS["zh"]


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


def word(prefix: str, value: Any, lang: str = "en") -> str:
    """The catalogue's ``prefix.value`` in ``lang`` (English where missing), else the value as given.

    >>> word("cli.order", "strict", "zh"), word("cli.attribution", "step_2", "zh")
    ('严格顺序', 'step_2')
    """
    key = f"{prefix}.{value}"
    return LABELS.get(lang, _EN).get(key) or _EN.get(key) or str(value)


def group(prefix: str, lang: str = "en") -> dict[str, str]:
    """The templates under ``prefix.`` in ``lang`` (English where missing), keyed without the prefix.

    >>> group("diagnose", "zh")["actions"]
    '下一步行动'
    """
    start = prefix + "."
    keys = [k for k in _EN if k.startswith(start)]
    return {k[len(start):]: LABELS.get(lang, _EN).get(k) or _EN[k] for k in keys}


def stage_label(stage: str, lang: str = "en") -> str:
    """``TI · True Interest`` / ``TI 深度兴趣``."""
    name = STAGE_NAMES.get(lang, STAGE_NAMES["en"]).get(stage)
    if name is None:
        return stage
    if stage in ("none", "I+TI"):
        return name
    return f"{stage} · {name}" if lang == "en" else f"{stage} {name}"


def dimension_label(name: Any, lang: str = "en") -> str:
    """A dimension or user attribute by name (``has_baby`` -> ``是否有宝宝``); unknown names as given."""
    key = f"dim.{name}"
    return LABELS.get(lang, _EN).get(key) or _EN.get(key) or str(name)


def value_label(value: Any, lang: str = "en") -> str:
    """A dimension's value: booleans (``true``/``false``) as yes/no; other values as given (data)."""
    text = "" if value is None else str(value)
    if text.lower() in ("true", "false"):
        return t(f"value.{text.lower()}", lang)
    return text


def metric_label(metric: str, lang: str = "en") -> str:
    """A metric's name (``TI->P advance rate`` -> ``TI->P 推进率``); English names stay as they are."""
    if lang == "en":
        return metric
    for kind in ("advance rate", "flow rate"):
        if metric.endswith(f" {kind}"):
            return t(f"metric.{kind.replace(' ', '_')}", lang, t=metric[: -len(kind) - 1])
    key = f"metric.{metric}"
    return LABELS.get(lang, {}).get(key) or metric


_TERM_COLUMNS = {  # column -> the catalogue's prefix for the values aips names itself
    "stage": "stage", "from_stage": "stage", "to_stage": "stage", "movement": "move", "model": "model",
    "measure": "measure", "what": "measure", "dimension": "dim", "significant": "value",
    "supported": "value", "complete": "value", "channel": "cli.label", "campaign_id": "cli.label",
    "creator_id": "cli.label", "campaign": "cli.label", "creator": "cli.label", "reason": "cli.reason",
}


def column_label(column: str, lang: str = "en") -> str:
    """A terminal table's header: the column's raw name in English (as in CSV and JSON), its
    ``cli.col.<name>`` label in other languages (the raw name when the catalogue has none).

    >>> column_label("ti_share", "zh"), column_label("ti_share", "en")
    ('TI 份额', 'ti_share')
    """
    if lang == "en":
        return str(column)
    words = LABELS.get(lang, {})
    return words.get(f"cli.col.{column}") or words.get(f"model.{column}") or str(column)


def term_label(column: str, value: Any, lang: str = "en") -> str:
    """A value aips names itself (not data), in ``lang``: a stage's ``none``, a movement
    (``up``), a measure (``median_days``), a dimension (``age_band``), a model, ``yes``;
    other values (brands, channels, ids) as given.

    >>> term_label("movement", "up", "zh"), term_label("stage", "TI", "zh"), term_label("brand", "up", "zh")
    ('上升', 'TI', 'up')
    """
    text = "" if value is None else str(value)
    prefix = _TERM_COLUMNS.get(str(column))
    if lang == "en" or prefix is None or not text:
        return text
    if prefix == "stage":
        if text == "all":
            return t("cli.all", lang)
        return STAGE_NAMES.get(lang, {}).get(text, text) if text == "none" else text
    if prefix == "value":
        key = {"yes": "true", "true": "true", "no": "false", "false": "false"}.get(text.lower())
        return t(f"value.{key}", lang) if key else text
    if prefix == "dim":
        return dimension_label(text, lang)
    if prefix == "cli.reason":  # quarantine reasons: "missing brand", "amount out of range"
        words = LABELS.get(lang, {})
        if f"cli.reason.{text}" in words:
            return words[f"cli.reason.{text}"]
        if text.endswith(" out of range"):
            kind, col = "out_of_range", text.removesuffix(" out of range")
        else:
            kind, _, col = text.partition(" ")
        key = f"cli.reason.{kind}"
        return words[key].format(column=col) if key in words and col else text
    return LABELS.get(lang, {}).get(f"{prefix}.{text}") or text


class Note(str):
    """A note a face shows: its English text, with a catalogue ``key`` and the ``values`` the
    key's template takes, so any face can say it in another language.

    >>> n = Note("no creator fits the budget", "creators.note.no_fit")
    >>> str(n), note_text(n, "zh")
    ('no creator fits the budget', '预算内没有合适的创作者（或没有创作者有已知报价）')
    """

    key: str
    values: dict[str, Any]

    def __new__(cls, text: str, key: str = "", **values: Any) -> Note:
        note = super().__new__(cls, text)
        note.key, note.values = key, values
        return note


def note_text(note: Any, lang: str = "en") -> str:
    """A :class:`Note` in ``lang``: its English text in English or when it has no key."""
    key = getattr(note, "key", "")
    if not note or lang == "en" or not key:
        return "" if note is None else str(note)
    return t(key, lang, **getattr(note, "values", {}))


def cycle_note(note: Any, lang: str = "en") -> str:
    """A decision-cycle fit's note in ``lang`` (its English text when it has no key or in English)."""
    key = getattr(note, "key", "")
    if not note or lang == "en" or not key:
        return "" if note is None else str(note)
    values = dict(getattr(note, "values", {}))
    tail = values.get("tail")
    values["share"] = "" if tail is None else t("cycle.note.share", lang, tail=fmt_pct(tail, 0), window=values.get("window"))
    return t(f"cycle.note.{key}", lang, **values)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _trim(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _zh_large(v: float, wan_digits: int) -> str | None:
    """``v`` in 亿 (1e8, two decimals) or 万 (1e4, ``wan_digits`` decimals); None below 1e4."""
    if abs(v) >= 1e8:
        return f"{_trim(v / 1e8, 2)}亿"
    if abs(v) >= 1e4:
        return f"{_trim(v / 1e4, wan_digits)}万"
    return None


def fmt_count(value: Any, lang: str = "en") -> str:
    """A count as people read it: ``12.3万`` / ``123,456`` (``1.2M`` above a million in English)."""
    if _missing(value):
        return t("na", lang)
    v = float(value)
    a = abs(v)
    if lang == "zh":
        big = _zh_large(v, wan_digits=1 if a < 1e6 else 0)
        return big or (f"{v:,.0f}" if v == round(v) else f"{v:,.1f}")
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
        return _zh_large(v, wan_digits=1) or f"{v:,.0f}"
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
