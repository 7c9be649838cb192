"""The ingest time window from the model file (issue 16, item 6: "configurable"): the
``ingest:`` section sets ``max_future`` and ``min_date``; ``aips ingest``'s flags win over
it, and it wins over the defaults (1d, 2000-01-01)."""

from __future__ import annotations

import json

import pytest
import yaml
from ingest_helpers import run_cli

from aips.config.model import default_model, load_model
from aips.exceptions import ConfigError
from aips.workspace import Workspace

HEAD = "ts,user_id,brand,event_type\n"


def _events(tmp_path, *days):
    path = tmp_path / "e.csv"
    path.write_text(HEAD + "".join(f"{d} 10:00,u{i},b,read\n" for i, d in enumerate(days)))
    return path


def _model_file(tmp_path, **ingest) -> str:
    from aips.config.model import default_yaml_text

    data = yaml.safe_load(default_yaml_text())
    data["ingest"] = ingest
    path = tmp_path / "aips.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


def test_defaults_are_one_day_and_year_2000():
    window = default_model().ingest
    assert (window.max_future, window.min_date) == ("1d", "2000-01-01")


def test_model_file_min_date_quarantines_what_the_default_accepts(duckdb_store, tmp_path):
    path = _events(tmp_path, "2015-06-01", "2024-01-02")
    default = Workspace(duckdb_store, default_model()).ingest(path, quarantine_dir=tmp_path / "q0", tz="UTC")
    assert (default.loaded, default.quarantined) == (2, 0)

    model = load_model(_model_file(tmp_path, min_date="2020-01-01"))
    assert model.ingest.min_date == "2020-01-01"
    other = tmp_path / "b"
    other.mkdir()
    report = Workspace(":memory:", model).ingest(_events(other, "2015-06-01", "2024-01-02"),
                                                 quarantine_dir=tmp_path / "q1", tz="UTC")
    assert (report.loaded, report.quarantined) == (1, 1)
    assert report.reasons == {"timestamp before min_date": 1}


def test_model_file_max_future_and_off(tmp_path):
    """``max_future: 0d`` quarantines tomorrow; ``off`` (YAML reads it as False) accepts anything."""
    import datetime as dt

    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%d")
    strict = load_model(_model_file(tmp_path, max_future="0d"))
    report = Workspace(":memory:", strict).ingest(_events(tmp_path, "2024-01-02", tomorrow),
                                                  quarantine_dir=tmp_path / "q", tz="UTC")
    assert report.reasons == {"future timestamp": 1}
    lax = tmp_path / "lax"
    lax.mkdir()
    model = load_model(_model_file(lax, max_future=False, min_date=False))
    assert (model.ingest.max_future, model.ingest.min_date) == ("off", "off")
    report = Workspace(":memory:", model).ingest(_events(lax, "1990-01-01", "9999-12-31"),
                                                 quarantine_dir=tmp_path / "q2", tz="UTC")
    assert (report.loaded, report.quarantined) == (2, 0)


@pytest.mark.parametrize(("key", "value"), [("max_future", "soon"), ("min_date", "yesterday")])
def test_bad_window_in_the_model_file_names_the_key(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key):
        load_model(_model_file(tmp_path, **{key: value}))


def test_cli_flag_wins_over_the_model_file(tmp_path, monkeypatch, capsys):
    config = _model_file(tmp_path, min_date="2020-01-01")
    path = _events(tmp_path, "2015-06-01", "2024-01-02")
    code, out, err = run_cli(["ingest", str(path), "--store", str(tmp_path / "a.duckdb"), "--config", config,
                              "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out)["reasons"] == {"timestamp before min_date": 1}  # the file's window
    code, out, err = run_cli(["ingest", str(path), "--store", str(tmp_path / "b.duckdb"), "--config", config,
                              "--min-date", "2010-01-01", "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    got = json.loads(out)
    assert (got["loaded"], got["quarantined"]) == (2, 0)  # the flag's window
