"""The model is data: renaming the purchase event and the organic channel changes nothing.

An oracle by renaming: the demo world with every ``purchase`` event renamed ``order`` and
the ``organic`` channel renamed ``natural``, read with a model whose ``purchase_event`` is
``order`` and whose ``organic_channels`` are ``[natural]``, gives the CLI outputs recorded
on the original world with the default model (the golden files of
``test_demo_outputs.py``), once ``natural`` is read back as ``organic``. Any place that
still spells ``"purchase"`` or ``"organic"`` instead of asking the model breaks it.
"""

from __future__ import annotations

import json
import shlex
import shutil

import duckdb
import pytest
import yaml
from cli_helpers import COMMANDS, GOLDEN, SIDE_TABLES, close_json, ingest_world
from typer.testing import CliRunner

from aips.cli.app import app
from aips.config.model import default_yaml_text, load_model

RENAMED = {"funnel": "funnel --steps read,collect,order --window 14d"}
"""Commands whose arguments name the purchase event (the rest run as recorded)."""
CHECKED = ("assets", "funnel", "cycle", "roi", "attribute", "attribute_inc", "diagnose", "loyalty")
"""Commands whose numbers depend on the purchase event or the organic channels."""


def _renamed_model(path) -> str:
    data = yaml.safe_load(default_yaml_text())
    data["taxonomy"] = {k: ("order" if v == "purchase" else v) for k, v in data["taxonomy"].items()}
    data["counters"]["purchase"]["events"] = ["order"]
    data.update(purchase_event="order", organic_channels=["natural"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    model = load_model(path)
    assert (model.purchase_event, model.organic_channels) == ("order", ("natural",))
    return str(path)


@pytest.fixture(scope="module")
def renamed_store(tmp_path_factory) -> tuple[str, str]:
    """The demo world renamed (purchase -> order, organic -> natural), and its model."""
    from aips.datasets import load_demo

    demo = load_demo()
    root = tmp_path_factory.mktemp("renamed")
    world = root / "world"
    (world / "events").mkdir(parents=True)
    for name in SIDE_TABLES:
        if (demo / f"{name}.csv").is_file():
            shutil.copy(demo / f"{name}.csv", world / f"{name}.csv")
    source = f"{demo}/events/*/*.parquet"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (event_type, channel), "
        f"replace(event_type, 'purchase', 'order') AS event_type, "
        f"CASE WHEN channel = 'organic' THEN 'natural' ELSE channel END AS channel "
        f"FROM read_parquet('{source}', hive_partitioning = false)) "
        f"TO '{world}/events/events.parquet' (FORMAT parquet)"
    )
    config = _renamed_model(root / "aips.yaml")
    return ingest_world(world, root / "aips.duckdb", config), config


def _read_back(value):
    """``natural`` read back as ``organic`` in every string of a JSON value, and the event
    type ``order`` (a whole string value, e.g. a funnel step) as ``purchase``."""
    if isinstance(value, str):
        return "purchase" if value == "order" else value.replace("natural", "organic")
    if isinstance(value, dict):
        return {k.replace("natural", "organic"): _read_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_read_back(v) for v in value]
    return value


@pytest.mark.parametrize(("name", "command"), [c for c in COMMANDS if c[0] in CHECKED],
                         ids=[c[0] for c in COMMANDS if c[0] in CHECKED])
def test_renamed_world_and_model_give_the_recorded_numbers(renamed_store, name, command):
    store, config = renamed_store
    args = [*shlex.split(RENAMED.get(name, command)), "--store", store, "--config", config,
            "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"aips {command}: {result.output}\n{result.exception!r}"
    got = _read_back(json.loads(result.stdout))
    close_json(json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8")), got)
