"""Run search and the run / experiment lifecycle, through the real MLflow client."""
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_code(exc):
    return getattr(exc, "error_code", None)


def names(runs):
    return [r.info.run_name for r in runs]


def _run(exp, name, metrics=None, params=None, tags=None):
    with mlflow.start_run(experiment_id=exp, run_name=name) as run:
        if metrics:
            mlflow.log_metrics(metrics)
        if params:
            mlflow.log_params(params)
        if tags:
            mlflow.set_tags(tags)
    return run.info.run_id


@pytest.fixture()
def experiment():
    return mlflow.create_experiment(unique("runs-search"))


def test_search_runs_filters_on_metrics_params_tags_and_attributes(tracking, experiment):
    client = MlflowClient()
    a = _run(experiment, "lora-a", {"val_loss": 0.31, "acc": 0.9}, {"lora_rank": 16, "base": "Llama-3-8B"}, {"team": "search"})
    b = _run(experiment, "lora-b", {"val_loss": 0.52}, {"lora_rank": 8, "base": "llama-3-70b"}, {"team": "infra"})
    c = _run(experiment, "full-c", None, {"lora_rank": 16}, None)

    def found(filter_string):
        return sorted(names(client.search_runs([experiment], filter_string)))

    assert found("metrics.val_loss < 0.5") == ["lora-a"]
    assert found("metrics.val_loss > 0") == ["lora-a", "lora-b"], "runs without the metric do not match"
    assert found("params.lora_rank = '16'") == ["full-c", "lora-a"]
    assert found("params.base LIKE 'llama%'") == ["lora-b"], "LIKE is case-sensitive"
    assert found("params.base ILIKE 'llama%'") == ["lora-a", "lora-b"]
    assert found("tags.team = 'search' AND metrics.acc >= 0.9") == ["lora-a"]
    assert found("tags.team != 'search'") == ["lora-b"], "only runs that have the tag"
    assert found("attributes.run_name LIKE 'lora-%'") == ["lora-a", "lora-b"]
    assert found("run_name = 'full-c'") == ["full-c"]
    assert found("attributes.status = 'FINISHED'") == ["full-c", "lora-a", "lora-b"]
    assert found(f"run_id IN ('{a}', '{c}')") == ["full-c", "lora-a"]
    start_b = client.get_run(b).info.start_time
    assert found(f"attributes.start_time >= {start_b}") == ["full-c", "lora-b"]
    assert found("attributes.end_time > 0") == ["full-c", "lora-a", "lora-b"]
    fetched = client.search_runs([experiment], "run_name = 'lora-a'")[0]
    assert fetched.info.run_id == a
    assert fetched.data.metrics == {"val_loss": 0.31, "acc": 0.9}
    assert fetched.data.params == {"lora_rank": "16", "base": "Llama-3-8B"}
    assert fetched.data.tags["team"] == "search"


def test_search_runs_order_by_puts_missing_values_last(tracking, experiment):
    client = MlflowClient()
    _run(experiment, "mid", {"score": 0.5}, {"p": "b"})
    _run(experiment, "none")
    _run(experiment, "high", {"score": 0.9}, {"p": "a"})
    _run(experiment, "low", {"score": 0.1}, {"p": "c"})
    assert names(client.search_runs([experiment])) == ["low", "high", "none", "mid"], "newest first by default"
    assert names(client.search_runs([experiment], order_by=["metrics.score DESC"])) == ["high", "mid", "low", "none"]
    assert names(client.search_runs([experiment], order_by=["metrics.score ASC"])) == ["low", "mid", "high", "none"]
    assert names(client.search_runs([experiment], order_by=["params.p"])) == ["high", "mid", "low", "none"]
    assert names(client.search_runs([experiment], order_by=["attributes.start_time ASC"])) == ["mid", "none", "high", "low"]


def test_search_runs_pages_with_tokens_and_as_a_dataframe(tracking, experiment):
    client = MlflowClient()
    for i in range(7):
        _run(experiment, f"run-{i}", {"step_loss": float(i)}, {"i": str(i)})
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([experiment], max_results=3, order_by=["metrics.step_loss ASC"], page_token=token)
        seen += names(page)
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 3
    assert seen == [f"run-{i}" for i in range(7)], "every run once, in order"

    df = mlflow.search_runs(experiment_ids=[experiment], order_by=["metrics.step_loss DESC"])
    assert list(df["tags.mlflow.runName"]) == [f"run-{i}" for i in reversed(range(7))]
    assert list(df["metrics.step_loss"]) == [float(i) for i in reversed(range(7))]
    assert list(df["params.i"]) == [str(i) for i in reversed(range(7))]
    assert set(df["status"]) == {"FINISHED"}
    empty = mlflow.search_runs(experiment_ids=[experiment], filter_string="metrics.step_loss > 100")
    assert len(empty) == 0
    by_name = mlflow.search_runs(experiment_names=[MlflowClient().get_experiment(experiment).name], filter_string="params.i = '3'")
    assert list(by_name["params.i"]) == ["3"]
    everywhere = mlflow.search_runs(search_all_experiments=True, filter_string=f"params.i = '3' AND attributes.run_id = '{by_name['run_id'][0]}'")
    assert list(everywhere["experiment_id"]) == [experiment]


def test_delete_and_restore_run_with_view_types(tracking, experiment):
    client = MlflowClient()
    keep = _run(experiment, "keep")
    drop = _run(experiment, "drop", {"loss": 1.0})
    client.delete_run(drop)
    assert client.get_run(drop).info.lifecycle_stage == "deleted", "a deleted run is still readable by id"
    assert names(client.search_runs([experiment])) == ["keep"]
    assert names(client.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)) == ["drop"]
    assert sorted(names(client.search_runs([experiment], run_view_type=ViewType.ALL))) == ["drop", "keep"]
    deleted_df = mlflow.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)
    assert list(deleted_df["run_id"]) == [drop]
    with pytest.raises(MlflowException) as write:
        client.log_metric(drop, "loss", 2.0)
    assert error_code(write.value) == "INVALID_PARAMETER_VALUE", "a deleted run takes no writes"
    client.restore_run(drop)
    assert client.get_run(drop).info.lifecycle_stage == "active"
    assert sorted(names(client.search_runs([experiment]))) == ["drop", "keep"]
    assert client.get_run(keep).info.lifecycle_stage == "active"


def test_deleting_a_run_leaves_its_registered_version_unchanged(tracking, tmp_path):
    client = MlflowClient()
    name = unique("from-deleted-run")
    src = tmp_path / "model"
    src.mkdir()
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / "weights.bin").write_bytes(bytes(range(256)) * 64)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="model")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    client.delete_run(run.info.run_id)
    after = client.get_model_version(name, mv.version)
    assert (after.run_id, after.source, after.current_stage) == (mv.run_id, mv.source, mv.current_stage)
    out = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(tmp_path / "out")))
    assert (out / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    assert (out / "MLmodel").read_text() == "flavors: {}\n"


def test_delete_restore_and_rename_experiment(tracking):
    client = MlflowClient()
    name = unique("exp-lifecycle")
    exp = client.create_experiment(name)
    a = _run(exp, "a")
    b = _run(exp, "b")
    client.delete_run(b)
    client.delete_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "deleted"
    assert client.get_run(a).info.lifecycle_stage == "deleted", "runs of a deleted experiment read as deleted"
    assert client.search_runs([exp]) == []
    assert [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'")] == [name]
    assert client.search_experiments(filter_string=f"name = '{name}'") == []
    with pytest.raises(MlflowException):
        mlflow.set_experiment(name)  # the client refuses a deleted experiment
    with pytest.raises(MlflowException) as rename_deleted:
        client.rename_experiment(exp, name + "-x")
    assert error_code(rename_deleted.value) == "INVALID_PARAMETER_VALUE"
    client.restore_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "active"
    assert names(client.search_runs([exp])) == ["a"], "the run deleted on its own stays deleted"
    assert names(client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)) == ["b"]

    renamed = name + "-renamed"
    client.rename_experiment(exp, renamed)
    assert client.get_experiment_by_name(renamed).experiment_id == exp
    assert client.get_experiment_by_name(name) is None
    assert [e.experiment_id for e in client.search_experiments(filter_string=f"name LIKE '{renamed[:-3]}%'")] == [exp]
    taken = client.create_experiment(unique("taken"))
    with pytest.raises(MlflowException) as dup:
        client.rename_experiment(exp, client.get_experiment(taken).name)
    assert error_code(dup.value) == "RESOURCE_ALREADY_EXISTS"
    mlflow.set_experiment(renamed)
    with mlflow.start_run() as run:
        mlflow.log_metric("x", 1.0)
    assert run.info.experiment_id == exp


def test_search_experiments_pages(tracking):
    client = MlflowClient()
    prefix = unique("exp-page")
    ids = [client.create_experiment(f"{prefix}-{i}") for i in range(5)]
    first = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name DESC"])
    assert [e.name for e in first] == [f"{prefix}-4", f"{prefix}-3"] and first.token
    rest = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", max_results=10, order_by=["name DESC"], page_token=first.token)
    assert [e.name for e in rest] == [f"{prefix}-{i}" for i in (2, 1, 0)] and not rest.token
    newest = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'")
    assert [e.experiment_id for e in newest] == list(reversed(ids)), "newest first by default"


def test_bad_input_is_a_400_with_mlflow_codes(tracking, experiment):
    client = MlflowClient()
    _run(experiment, "only")
    for bad_filter in ["metrics.loss > 1 OR metrics.loss < 0", "params.lr = '0.1", "metrics.loss > 'high'", "colour = 'red'", "datasets.schema = 'x'"]:
        with pytest.raises(MlflowException) as e:
            client.search_runs([experiment], bad_filter)
        assert error_code(e.value) == "INVALID_PARAMETER_VALUE", bad_filter
    for bad_order in [["metrics.loss SIDEWAYS"], ["metrics.loss", "metrics.loss DESC"]]:
        with pytest.raises(MlflowException) as e:
            client.search_runs([experiment], order_by=bad_order)
        assert error_code(e.value) == "INVALID_PARAMETER_VALUE", bad_order
    with pytest.raises(MlflowException) as token:
        client.search_runs([experiment], page_token="bm90LWEtdG9rZW4")
    assert error_code(token.value) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as too_many:
        client.search_runs([experiment], max_results=50_001)
    assert error_code(too_many.value) == "INVALID_PARAMETER_VALUE"
    for op in (client.delete_run, client.restore_run):
        with pytest.raises(MlflowException) as missing:
            op("0" * 32)
        assert error_code(missing.value) == "RESOURCE_DOES_NOT_EXIST"
    for op in (client.delete_experiment, client.restore_experiment):
        with pytest.raises(MlflowException) as missing:
            op("987654321")
        assert error_code(missing.value) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as default:
        client.delete_experiment("0")
    assert error_code(default.value) == "INVALID_PARAMETER_VALUE"
    assert client.get_experiment("0").lifecycle_stage == "active"
    assert len(client.search_runs([experiment], max_results=50_000)) == 1
