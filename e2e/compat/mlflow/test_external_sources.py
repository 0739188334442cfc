"""Sources in object stores Berth does not read: the real client registers them as external versions (decision 0021)."""
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

EXTERNAL = {"berth.content_addressed": "false"}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/model",
        "gs://bucket/model",
        "wasbs://container@account.blob.core.windows.net/model",
        "hdfs://namenode:8020/models/model",
        "dbfs:/FileStore/models/model",
        "https://models.example.com/model.tar.gz",
    ],
)
def test_register_model_from_an_object_store_records_an_external_version(tracking, source):
    name = unique("external")
    # register_model creates the model, then the version, and waits for it to be READY.
    mv = mlflow.register_model(source, name)
    assert (mv.version, mv.source, mv.status) == ("1", source, "READY")
    assert mv.tags == EXTERNAL
    assert mv.status_message == f"external: not content-addressed, Berth holds no files of it; its bytes stay at {source}"
    client = MlflowClient()
    got = client.get_model_version(name, "1")
    assert (got.source, got.tags, got.status_message) == (source, EXTERNAL, mv.status_message)
    assert client.get_model_version_download_uri(name, "1") == source
    [found] = client.search_model_versions(f"name = '{name}'")
    assert found.tags == EXTERNAL and found.source == source


def test_external_version_takes_aliases_tags_and_stages_like_any_other(tracking):
    name = unique("external-life")
    client = MlflowClient()
    client.create_registered_model(name)
    mv = client.create_model_version(name, "s3://bucket/chatbot/v1", tags={"team": "cs"}, description="from the lake")
    assert mv.tags == {"team": "cs", **EXTERNAL}
    client.set_registered_model_alias(name, "staging", mv.version)
    by_alias = client.get_model_version_by_alias(name, "staging")
    assert (by_alias.version, by_alias.source, by_alias.tags["berth.content_addressed"]) == ("1", "s3://bucket/chatbot/v1", "false")
    client.set_model_version_tag(name, "1", "reviewed", "yes")
    client.transition_model_version_stage(name, "1", "Staging")
    after = client.get_model_version(name, "1")
    assert after.tags == {"team": "cs", "reviewed": "yes", **EXTERNAL}
    assert after.current_stage == "Staging"
    [latest] = client.get_latest_versions(name, stages=["Staging"])
    assert latest.status_message.startswith("external: not content-addressed")


def test_the_server_tag_cannot_be_set_through_mlflow(tracking):
    name = unique("external-tag")
    mlflow.register_model("gs://bucket/m", name)
    client = MlflowClient()
    with pytest.raises(MlflowException) as err:
        client.set_model_version_tag(name, "1", "berth.content_addressed", "true")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "set by the server" in str(err.value)
    assert client.get_model_version(name, "1").tags == EXTERNAL


def test_a_source_that_is_neither_berths_nor_an_object_store_is_refused(tracking):
    name = unique("external-bad")
    client = MlflowClient()
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, "file:///tmp/model")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Unsupported source" in str(err.value)
    assert client.search_model_versions(f"name = '{name}'") == []
