"""Labels and locale number formats (no store needed)."""

from __future__ import annotations

import pytest

from aips.reporting import labels as L


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (0, "0", "0"),
        (9_999, "9,999", "9,999"),
        (10_000, "1万", "10,000"),
        (123_456, "12.3万", "123,456"),
        (1_234_567, "123万", "1.23M"),
        (99_990_000, "9999万", "100M"),
        (312_000_000, "3.12亿", "312M"),
        (1_500_000_000, "15亿", "1.5B"),
        (-25_000, "-2.5万", "-25,000"),
    ],
    ids=lambda v: str(v),
)
def test_counts_use_wan_and_yi_in_chinese(value, zh, en):
    assert L.fmt_count(value, "zh") == zh
    assert L.fmt_count(value, "en") == en


def test_missing_values_read_as_not_available():
    assert L.fmt_count(None, "en") == "n/a"
    assert L.fmt_pct(float("nan"), 1, "zh") == "暂无"
    assert L.fmt_delta(5, None, "count", "en") == "n/a"
    assert L.fmt_delta(5, 0, "count", "en") == "n/a"  # no relative change from zero


def test_changes_are_relative_for_counts_and_in_points_for_rates():
    assert L.fmt_delta(90, 100, "count", "en") == "-10.0%"
    assert L.fmt_delta(0.25, 0.2, "rate", "en") == "+5.0 pp"
    assert L.fmt_delta(0.25, 0.2, "rate", "zh") == "+5.0个百分点"
    assert L.fmt_delta(2.5, 2.0, "ratio", "en") == "+0.50"


def test_money_and_percent():
    assert L.fmt_money(1234.4, "en") == "¥1,234"
    assert L.fmt_money(123_456, "zh") == "¥12.3万"
    assert L.fmt_pct(0.1234) == "12.3%"
    assert L.fmt_ratio(4.4921) == "4.49"


def test_every_english_label_has_a_chinese_one():
    missing = sorted(set(L.LABELS["en"]) - set(L.LABELS["zh"]))
    assert missing == []
    for key, text in L.LABELS["zh"].items():
        assert text.strip(), key


def test_stage_labels():
    assert L.stage_label("TI", "en") == "TI · True Interest"
    assert L.stage_label("TI", "zh") == "TI 深度兴趣"
    assert L.stage_label("none", "zh") == "无层级"


def test_unknown_language_is_a_config_error():
    from aips.exceptions import ConfigError

    with pytest.raises(ConfigError, match="en or zh"):
        L.check_lang("fr")


def test_money_in_another_currency():
    assert L.fmt_money(1234.4, "en", "$") == "$1,234"
    assert L.fmt_money(2_500_000, "en", "€") == "€2.5M"
    assert L.fmt_value(12.0, "money", "zh", "$") == "$12"
