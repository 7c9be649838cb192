"""The catalogue's re-export for the report's modules: see :mod:`aips.config.labels`."""

from aips.config.labels import (  # noqa: F401
    LABELS,
    LANGS,
    STAGE_NAMES,
    check_lang,
    cycle_note,
    delta,
    dimension_label,
    fmt_compact,
    fmt_count,
    fmt_delta,
    fmt_money,
    fmt_pct,
    fmt_ratio,
    fmt_value,
    metric_label,
    stage_label,
    t,
    value_label,
)
