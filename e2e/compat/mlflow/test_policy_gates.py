"""The seed's validate_and_promote() (§44.1.5) with the unmodified MLflow client, against a
champion that a Berth policy protects: the registry, not the script, decides whether it moves."""
import json
import urllib.request
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

POLICY = """policy: {policy}
target_alias: champion
models: [{model}]
gates:
  - {{ name: accuracy, metric: accuracy, min: 0.90 }}
  - {{ name: safety, metric: safety_score, min: 0.95 }}
  - {{ name: latency, metric: p99_latency_ms, max: 500 }}
  - {{ name: no-regression, metric: accuracy, compare_to: champion, max_drop: 0.01 }}
"""

# What the evaluation suites measure for each candidate (the seed runs them on the model).
MEASURED = {
    "1": {"accuracy": 0.918, "safety_score": 0.962, "p99_latency_ms": 430},
    "2": {"accuracy": 0.923, "safety_score": 0.971, "p99_latency_ms": 412},
    "3": {"accuracy": 0.931, "safety_score": 0.942, "p99_latency_ms": 380},
}


def native(url, method, path, body):
    req = urllib.request.Request(
        f"{url}/api/v1{path}", data=json.dumps(body).encode(), method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read())


def validate_and_promote(url, client, model_name, candidate_version):
    """The seed's function with its four asserts replaced by recorded evidence: the evaluation
    results go to the registry, and set_registered_model_alias is the gate."""
    native(
        url,
        "POST",
        f"/models/{model_name}/versions/{candidate_version}/evaluations",
        {"metrics": MEASURED[str(candidate_version)], "dataset": "eval_golden_set", "source": "validate_and_promote"},
    )
    client.set_registered_model_alias(name=model_name, alias="champion", version=candidate_version)
    print(f"Version {candidate_version} promoted to champion")


def test_validate_and_promote_moves_a_policy_bound_champion_only_on_passing_evidence(tracking):
    url = tracking
    name = f"chatbot-lora-production-{uuid.uuid4().hex[:8]}"
    native(url, "PUT", f"/policies/{name}-promotion", {"yaml": POLICY.format(policy=f"{name}-promotion", model=name)})
    client = MlflowClient()
    client.create_registered_model(name)
    versions = []
    for i in range(3):
        with mlflow.start_run() as run:
            mlflow.log_text(f"weights {i}", "model/MLmodel")
        versions.append(client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id).version)
    assert versions == ["1", "2", "3"]

    validate_and_promote(url, client, name, 1)  # first promotion: nothing to compare with
    assert client.get_model_version_by_alias(name, "champion").version == "1"

    validate_and_promote(url, client, name, 2)
    assert client.get_model_version_by_alias(name, "champion").version == "2"

    with pytest.raises(MlflowException) as refused:
        validate_and_promote(url, client, name, 3)
    message = refused.value.message
    assert "[gate-2] safety 0.942 >= 0.95 FAIL" in message
    assert "did not move" in message
    assert "[gate-1]" not in message, "only the failing gates are in the refusal"
    assert client.get_model_version_by_alias(name, "champion").version == "2"

    with urllib.request.urlopen(f"{url}/api/v1/models/{name}/promotions") as res:
        states = [(p["version"], p["state"]) for p in json.loads(res.read())["items"]]
    assert states == [(3, "failed"), (2, "passed"), (1, "passed")]
