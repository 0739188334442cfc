"""MLflow's prompt registry (mlflow.genai), run unchanged against Berth."""
import json
import urllib.request
import uuid

import mlflow
import pytest
from mlflow.exceptions import MlflowException


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def native(url, path):
    with urllib.request.urlopen(f"{url}/api/v1{path}") as res:
        body = res.read().decode()
    return json.loads(body) if res.headers.get_content_type() == "application/json" else body


def test_text_prompt_register_load_by_version_and_alias_and_format(tracking):
    name = unique("cs-system")
    v1 = mlflow.genai.register_prompt(name, "Greet {{customer_name}} about the {{product}}.", commit_message="first", tags={"team": "support"})
    assert v1.version == 1
    v2 = mlflow.genai.register_prompt(name, "Hi {{customer_name}}! Ask about the {{ product }}.", commit_message="friendlier")
    assert v2.version == 2

    loaded = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    assert loaded.template == "Greet {{customer_name}} about the {{product}}."
    assert loaded.commit_message == "first"
    assert loaded.tags["team"] == "support"
    assert loaded.format(customer_name="Ana", product="router") == "Greet Ana about the router."

    mlflow.genai.set_prompt_alias(name, alias="production", version=2)
    prod = mlflow.genai.load_prompt(f"prompts:/{name}@production", cache_ttl_seconds=0)
    assert prod.version == 2
    assert prod.format(customer_name="Ana", product="router") == "Hi Ana! Ask about the router."

    # Berth keeps the template as the version's file, which `berth prompt render` reads.
    assert native(tracking, f"/models/{name}")["kind"] == "prompt"
    files = native(tracking, f"/models/{name}/versions/2")["files"]
    assert [f["path"] for f in files] == ["prompt.txt"]
    assert native(tracking, f"/models/{name}/versions/2/files/prompt.txt") == "Hi {{customer_name}}! Ask about the {{ product }}."

    mlflow.genai.set_prompt_alias(name, alias="production", version=1)
    assert mlflow.genai.load_prompt(f"prompts:/{name}@production", cache_ttl_seconds=0).version == 1
    mlflow.genai.delete_prompt_alias(name, alias="production")
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt(f"prompts:/{name}@production", cache_ttl_seconds=0)


def test_chat_prompt_round_trips_as_prompt_json(tracking):
    name = unique("cs-chat")
    template = [
        {"role": "system", "content": "You are a {{style}} assistant for {{product}}."},
        {"role": "user", "content": "{{question}}"},
    ]
    pv = mlflow.genai.register_prompt(name, template)
    loaded = mlflow.genai.load_prompt(name, version=pv.version)
    assert loaded.template == template
    assert loaded.format(style="terse", product="routers", question="Why is the light red?") == [
        {"role": "system", "content": "You are a terse assistant for routers."},
        {"role": "user", "content": "Why is the light red?"},
    ]
    files = native(tracking, f"/models/{name}/versions/1")["files"]
    assert [f["path"] for f in files] == ["prompt.json"]
    assert json.loads(native(tracking, f"/models/{name}/versions/1/files/prompt.json")) == template


def test_search_prompts_lists_prompts_and_not_models(tracking):
    prefix = unique("searchable")
    mlflow.genai.register_prompt(f"{prefix}-a", "A {{x}}")
    mlflow.genai.register_prompt(f"{prefix}-b", "B {{x}}")
    mlflow.MlflowClient().create_registered_model(f"{prefix}-model")
    found = mlflow.genai.search_prompts(filter_string=f"name LIKE '{prefix}%'")
    assert sorted(p.name for p in found) == [f"{prefix}-a", f"{prefix}-b"]


def test_long_prompt_round_trips_beyond_a_tag(tracking):
    name = unique("long")
    template = "Be precise. " * 5000 + "{{question}}"
    mlflow.genai.register_prompt(name, template)
    assert mlflow.genai.load_prompt(f"prompts:/{name}/1").template == template


def test_prompt_model_config_and_version_delete(tracking):
    name = unique("configured")
    mlflow.genai.register_prompt(name, "Q: {{q}}", model_config={"model_name": "gpt-4o-mini", "temperature": 0.2})
    assert mlflow.genai.load_prompt(name, version=1).model_config == {"model_name": "gpt-4o-mini", "temperature": 0.2}
    mlflow.genai.set_prompt_model_config(name, version=1, model_config={"model_name": "gpt-4o", "temperature": 0.0})
    assert mlflow.genai.load_prompt(name, version=1, cache_ttl_seconds=0).model_config["model_name"] == "gpt-4o"
    mlflow.genai.register_prompt(name, "Question: {{q}}")
    mlflow.MlflowClient().delete_prompt_version(name, "1")
    assert mlflow.genai.load_prompt(name, version=1, allow_missing=True, cache_ttl_seconds=0) is None
    assert mlflow.genai.load_prompt(name, version=2).template == "Question: {{q}}"


def test_a_prompt_name_taken_by_a_model_is_refused(tracking):
    name = unique("taken")
    mlflow.MlflowClient().create_registered_model(name)
    with pytest.raises(MlflowException, match="same name as an existing model"):
        mlflow.genai.register_prompt(name, "hello {{x}}")


def test_prompt_tags_versions_run_link_and_delete(tracking):
    name = unique("managed")
    mlflow.genai.register_prompt(name, "One {{x}}", response_format={"type": "object", "properties": {"answer": {"type": "string"}}})
    mlflow.genai.register_prompt(name, "Two {{x}}", model_config={"temperature": 0.5})
    assert mlflow.genai.load_prompt(name, version=1).response_format == {"type": "object", "properties": {"answer": {"type": "string"}}}
    mlflow.genai.delete_prompt_model_config(name, version=2)
    assert mlflow.genai.load_prompt(name, version=2, cache_ttl_seconds=0).model_config is None
    mlflow.genai.set_prompt_tag(name, "owner", "support")
    assert mlflow.genai.get_prompt_tags(name)["owner"] == "support"
    client = mlflow.MlflowClient()
    assert [v.version for v in client.search_prompt_versions(name)] == [2, 1]
    with mlflow.start_run() as run:
        mlflow.genai.load_prompt(f"prompts:/{name}/2")
    linked = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"])
    assert linked == [{"name": name, "version": "2"}]
    client.delete_prompt(name)
    assert mlflow.genai.load_prompt(name, version=2, allow_missing=True, cache_ttl_seconds=0) is None
