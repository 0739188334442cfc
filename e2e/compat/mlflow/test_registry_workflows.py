"""The registry workflows every MLflow user knows, run unchanged against Berth."""
import filecmp
import json
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class LengthModel(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [len(str(x)) for x in model_input]


def error_code(exc):
    return getattr(exc, "error_code", None)


def test_log_model_register_alias_and_load(tracking):
    name = unique("chatbot-lora-production")
    with mlflow.start_run() as run:
        mlflow.log_params({"lora_rank": 16, "learning_rate": 0.0002})
        mlflow.log_metrics({"val_loss": 0.342, "val_accuracy": 0.918})
        mlflow.pyfunc.log_model(name="model", python_model=LengthModel())
    result = mlflow.register_model(f"runs:/{run.info.run_id}/model", name, tags={"task": "customer-support"})
    assert result.version == "1"
    assert result.source.startswith("models:/m-")
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", result.version)
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert model.predict(["abc", "hello"]) == [3, 5]
    mv = client.get_model_version_by_alias(name, "champion")
    assert mv.version == "1" and mv.aliases == ["champion"]
    assert mv.run_id == run.info.run_id
    assert mv.tags == {"task": "customer-support"}
    fetched = client.get_run(run.info.run_id)
    assert fetched.data.params == {"lora_rank": "16", "learning_rate": "0.0002"}
    assert fetched.data.metrics == {"val_loss": 0.342, "val_accuracy": 0.918}


def test_registered_artifacts_round_trip_byte_identical_and_frozen(tracking, tmp_path):
    name = unique("artifacts")
    src = tmp_path / "model"
    (src / "weights").mkdir(parents=True)
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / "weights" / "adapter.bin").write_bytes(bytes(range(256)) * 4000)
    (src / "tokenizer ünï.json").write_text(json.dumps({"vocab": ["a", "b"]}))
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="model")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    # a later write to the run must not change the registered version
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_text("changed after registration", "model/MLmodel")
    out = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(tmp_path / "out")))
    for rel in ["MLmodel", "weights/adapter.bin", "tokenizer ünï.json"]:
        assert filecmp.cmp(src / rel, out / rel, shallow=False), rel


def test_registering_artifacts_with_a_git_folder_is_refused(tracking, tmp_path):
    name = unique("vcs-folder")
    src = tmp_path / "model"
    (src / ".git").mkdir(parents=True)
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / ".git" / "config").write_text("[core]\n\tfsmonitor = touch /tmp/owned\n")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="model")
    with pytest.raises(MlflowException) as refused:
        mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert error_code(refused.value) == "INVALID_PARAMETER_VALUE"
    assert "'.git' is a version control folder" in refused.value.message
    assert MlflowClient().search_model_versions(f"name='{name}'") == []
    # the run keeps what it logged: only a version may not hold it
    got = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model/.git/config", dst_path=str(tmp_path / "out")))
    assert got.read_text() == (src / ".git" / "config").read_text()


def test_error_codes_match_mlflow(tracking):
    client = MlflowClient()
    with pytest.raises(MlflowException) as missing:
        client.get_registered_model(unique("ghost"))
    assert error_code(missing.value) == "RESOURCE_DOES_NOT_EXIST"
    name = unique("dup")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as dup:
        client.create_registered_model(name)
    assert error_code(dup.value) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as bad:
        client.create_registered_model("-bad name")
    assert error_code(bad.value) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as unknown_run:
        client.get_run("0" * 32)
    assert error_code(unknown_run.value) == "RESOURCE_DOES_NOT_EXIST"
    with mlflow.start_run() as run:
        mlflow.log_text("m", "model/MLmodel")
    with pytest.raises(MlflowException) as no_model:
        client.create_model_version(unique("never-created"), f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert error_code(no_model.value) == "RESOURCE_DOES_NOT_EXIST", "a version never creates its model through MLflow"


def _version(client, name, content="x"):
    with mlflow.start_run() as run:
        mlflow.log_text(content, "model/MLmodel")
    return client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)


def test_aliases_reserved_names_and_moves(tracking):
    client = MlflowClient()
    name = unique("aliases")
    client.create_registered_model(name)
    v1 = _version(client, name, "one")
    v2 = _version(client, name, "two")
    client.set_registered_model_alias(name, "champion", v1.version)
    client.set_registered_model_alias(name, "champion", v2.version)
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    for alias in ["latest", "LATEST"]:
        with pytest.raises(MlflowException) as reserved:
            client.set_registered_model_alias(name, alias, v1.version)
        assert error_code(reserved.value) == "INVALID_PARAMETER_VALUE"
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}


def test_stage_transitions_and_latest_versions(tracking):
    client = MlflowClient()
    name = unique("stages")
    client.create_registered_model(name)
    v1 = _version(client, name, "a")
    v2 = _version(client, name, "b")
    client.transition_model_version_stage(name, v1.version, "Production")
    client.transition_model_version_stage(name, v2.version, "production", archive_existing_versions=True)
    assert client.get_model_version(name, v1.version).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["2"]
    loaded = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/Production")
    assert (Path(loaded) / "MLmodel").read_text() == "b"


def test_tags_descriptions_rename_and_delete(tracking):
    client = MlflowClient()
    name = unique("edit")
    client.create_registered_model(name, tags={"team": "search"}, description="first")
    v1 = _version(client, name)
    client.set_registered_model_tag(name, "owner", "ml-platform")
    client.delete_registered_model_tag(name, "team")
    client.set_model_version_tag(name, v1.version, "reviewed", "yes")
    client.update_model_version(name, v1.version, description="kept")
    client.update_registered_model(name, description="second")
    m = client.get_registered_model(name)
    assert m.tags == {"owner": "ml-platform"} and m.description == "second"
    v = client.get_model_version(name, v1.version)
    assert v.tags == {"reviewed": "yes"} and v.description == "kept"
    client.set_registered_model_alias(name, "champion", v1.version)
    client.set_registered_model_alias(name, "candidate", v1.version)
    renamed = name + "-renamed"
    client.rename_registered_model(name, renamed)
    assert client.get_model_version_by_alias(renamed, "champion").version == "1"
    for delete in (lambda: client.delete_model_version(renamed, v1.version), lambda: client.delete_registered_model(renamed)):
        with pytest.raises(MlflowException) as guarded:
            delete()
        assert error_code(guarded.value) == "RESOURCE_CONFLICT" and "@champion" in guarded.value.message, "a protected alias is never deleted with its version"
    client.delete_registered_model_alias(renamed, "champion")
    client.delete_model_version(renamed, v1.version)
    assert client.get_registered_model(renamed).aliases == {}, "ordinary aliases go with their version: none dangles"
    v2 = _version(client, renamed)
    assert v2.version == "2", "version numbers are never reused"
    client.delete_registered_model(renamed)
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(renamed)
    assert error_code(gone.value) == "RESOURCE_DOES_NOT_EXIST"


def test_missing_artifact_is_a_404_not_a_retried_500(tracking, berth_url):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{berth_url}/api/2.0/mlflow-artifacts/artifacts/0/nope/artifacts/missing.bin")
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as trav:
        urllib.request.urlopen(urllib.request.Request(f"{berth_url}/api/2.0/mlflow-artifacts/artifacts/0/x/..%2F..%2Fetc", data=b"x", method="PUT"))
    assert trav.value.code == 400


def test_search_filters_pagination_and_aliases(tracking):
    client = MlflowClient()
    prefix = unique("search")
    for i in range(5):
        name = f"{prefix}-{i}"
        client.create_registered_model(name, tags={"team": "a" if i % 2 else "b"})
        _version(client, name, f"s{i}")
    client.set_registered_model_alias(f"{prefix}-1", "champion", "1")
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'")
    assert sorted(m.name for m in found) == [f"{prefix}-{i}" for i in range(5)]
    team_a = client.search_registered_models(filter_string=f"name LIKE '{prefix}%' AND tags.team = 'a'")
    assert sorted(m.name for m in team_a) == [f"{prefix}-1", f"{prefix}-3"]
    assert client.search_registered_models(filter_string=f"name ILIKE '{prefix.upper()}-%'")
    assert not client.search_registered_models(filter_string=f"name LIKE '{prefix.upper()}-%'"), "LIKE is case-sensitive"
    page1 = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name DESC"])
    assert [m.name for m in page1] == [f"{prefix}-4", f"{prefix}-3"] and page1.token
    page2 = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name DESC"], page_token=page1.token)
    page3 = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2, order_by=["name DESC"], page_token=page2.token)
    assert [m.name for m in page2] == [f"{prefix}-2", f"{prefix}-1"] and [m.name for m in page3] == [f"{prefix}-0"] and not page3.token
    versions = client.search_model_versions(filter_string=f"name = '{prefix}-1'")
    assert [(v.version, v.aliases) for v in versions] == [("1", ["champion"])], "search returns aliases on every version"
    with pytest.raises(MlflowException) as bad:
        client.search_registered_models(filter_string="name = 'a' OR name = 'b'")
    assert error_code(bad.value) == "INVALID_PARAMETER_VALUE"


def test_datasets_logged_as_run_inputs_give_lineage(tracking):
    import pandas as pd

    df = pd.DataFrame({"prompt": ["hi", "bye"], "label": [1, 0]})
    dataset = mlflow.data.from_pandas(df, source="s3://corpus/support-v3.parquet", name="support-train")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1, "the same dataset logged twice is one input"
    d = inputs[0].dataset
    assert (d.name, d.digest, d.source_type) == ("support-train", dataset.digest, dataset.source._get_source_type())
    assert "support-v3.parquet" in d.source
    assert {t.key: t.value for t in inputs[0].tags}.get("mlflow.data.context") == "training"
