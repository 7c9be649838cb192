"""Which ``--store`` value means which Spark target, and the options that go with it (no JVM)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aips.config.model import default_model, load_model
from aips.exceptions import StoreError
from aips.store.spark import SparkOptions, is_spark_url, parse_conf, spark_target


@pytest.mark.parametrize("text, kind, url", [
    ("local", "local", "local"),
    ("local[2]", "local", "local[2]"),
    ("local[*]", "local", "local[*]"),
    ("local[4,2]", "local", "local[4,2]"),
    ("sc://127.0.0.1:15002", "connect", "sc://127.0.0.1:15002"),
    ("sc://spark.example.com:443/;use_ssl=true;token=x", "connect", "sc://spark.example.com:443/;use_ssl=true;token=x"),
    ("spark://10.0.0.5:7077", "master", "spark://10.0.0.5:7077"),
    ("spark://h1:7077,h2:7077", "master", "spark://h1:7077,h2:7077"),
    ("yarn", "master", "yarn"),
    ("k8s://https://kube.example.com:6443", "master", "k8s://https://kube.example.com:6443"),
])
def test_spark_urls(text, kind, url):
    target = spark_target(text)
    assert (target.kind, target.url, target.note) == (kind, url, None)
    assert is_spark_url(text)


@pytest.mark.parametrize("text, master", [("spark://local[2]", "local[2]"), ("spark://local[*]", "local[*]"),
                                          ("spark://", "local[2]")])
def test_the_old_local_spelling_still_works_with_a_deprecation_note(text, master):
    target = spark_target(text)
    assert (target.kind, target.url) == ("local", master)
    assert "deprecated" in target.note and master in target.note


@pytest.mark.parametrize("text", ["aips.duckdb", "out/local[2].duckdb", ":memory:", "localhost.duckdb",
                                  "yarn.duckdb", "local[x]"])
def test_duckdb_files_are_not_spark(text):
    assert spark_target(text) is None and not is_spark_url(text)


def test_conf_pairs_and_their_order():
    assert parse_conf(["a=1", "b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(StoreError, match="KEY=VALUE"):
        parse_conf(["spark.executor.memory"])
    # --conf wins over the model file's spark_conf
    merged = SparkOptions(conf={"a": "cli"}).under({"a": "model", "b": "model"})
    assert dict(merged.conf) == {"a": "cli", "b": "model"}


def test_the_model_file_takes_spark_conf(tmp_path):
    text = "store:\n  spark_conf:\n    spark.executor.memory: 8g\n    spark.sql.shuffle.partitions: 64\n"
    path = tmp_path / "aips.yaml"
    path.write_text(text)
    model = load_model(path)
    assert model.store.spark_conf == {"spark.executor.memory": "8g", "spark.sql.shuffle.partitions": 64}
    assert default_model().store.spark_conf == {}


def test_a_bad_conf_flag_is_a_clear_error(tmp_path):
    from aips.cli.app import app

    out = CliRunner().invoke(app, ["info", "--store", str(tmp_path / "x.duckdb"), "--conf", "nokey"])
    assert out.exit_code != 0
    assert "KEY=VALUE" in str(out.exception) + out.output


def test_serve_passes_the_store_options_to_the_dashboard(monkeypatch):
    """``aips serve --store local[2] --warehouse --database --conf`` opens the dashboard's
    store with them (the dashboard's service opens it in its own threads, outside the
    command's context)."""
    from typer.testing import CliRunner

    import aips.dashboard.app as dash_app
    import aips.dashboard.server as server
    from aips.cli.app import app
    from aips.store.spark import SparkOptions

    seen = {}
    monkeypatch.setattr(dash_app, "create_app", lambda **kw: seen.update(kw) or "app")
    monkeypatch.setattr(server, "serve", lambda app, **kw: seen.update(served=app))
    result = CliRunner().invoke(app, ["serve", "--store", "local[2]", "--warehouse", "/data/wh", "--database", "mkt",
                                      "--conf", "spark.executor.memory=8g"])
    assert result.exit_code == 0, result.output
    assert seen["served"] == "app" and seen["store"] == "local[2]"
    assert seen["spark"] == SparkOptions("/data/wh", "mkt", {"spark.executor.memory": "8g"})


def test_every_command_with_a_store_takes_the_store_options():
    """One decorator (with_store_options) gives every command with --store the five options."""
    import typer

    from aips.cli import commands
    from aips.cli.app import app

    params = {name: {p.name for p in c.params} for name, c in typer.main.get_command(app).commands.items()}
    with_store = [n for n, _ in commands.COMMANDS if "store" in params[n]]
    assert {"ingest", "assets", "series", "audience", "report", "serve", "info"} <= set(with_store)
    for name in with_store:
        assert {"warehouse", "database", "conf", "memory_limit", "threads"} <= params[name], name
