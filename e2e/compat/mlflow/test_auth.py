"""The unmodified `mlflow` client against a Berth that requires tokens (MLFLOW_TRACKING_TOKEN, or
MLFLOW_TRACKING_USERNAME/PASSWORD with the token as the password)."""
import os
import shutil
import subprocess
import tempfile
import urllib.request
import uuid

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import BIN, start_berth


def berth(url, *args, token=None):
    env = {**{k: v for k, v in os.environ.items() if k != "BERTH_TOKEN"}, "BERTH_URL": url, **({"BERTH_TOKEN": token} if token else {})}
    out = subprocess.run(["node", str(BIN), *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def auth_server():
    """The first admin token is made on the loopback server without --auth, then the server restarts requiring tokens."""
    data = tempfile.mkdtemp(prefix="berth-mlflow-auth-")
    proc, url = start_berth(data)
    try:
        admin = berth(url, "token", "create", "admin", "--role", "admin")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc, url = start_berth(data, "--auth")
    tokens = {
        "admin": admin,
        "editor": berth(url, "token", "create", "mlflow-editor", "--role", "editor", token=admin),
        "viewer": berth(url, "token", "create", "mlflow-viewer", "--role", "viewer", token=admin),
    }
    yield url, tokens
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def as_token(monkeypatch):
    def use(kind, value):
        for var in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            monkeypatch.delenv(var, raising=False)
        if kind == "bearer":
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", value)
        elif kind == "basic":
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ci")
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", value)

    return use


@pytest.mark.parametrize("kind", ["bearer", "basic"])
def test_reads_and_writes_with_the_right_token(auth_server, as_token, kind):
    url, tokens = auth_server
    as_token(kind, tokens["editor"])
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    name = f"auth-{kind}-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name, tags={"team": "nlp"})
    client.set_registered_model_tag(name, "stage", "dev")
    assert client.get_registered_model(name).tags == {"team": "nlp", "stage": "dev"}
    exp = client.create_experiment(f"exp-{name}")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "val_loss", 0.3)
    assert client.get_run(run.info.run_id).data.metrics == {"val_loss": 0.3}
    client.log_text(run.info.run_id, "hello", "notes/readme.txt")
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/readme.txt"]
    events = [e for e in urllib_json(f"{url}/api/v1/audit?model={name}", tokens["admin"])["items"]]
    assert {e["actor"] for e in events} == {"mlflow-editor"}


@pytest.mark.parametrize("kind", ["bearer", "basic"])
def test_a_viewer_reads_but_its_write_raises_permission_denied(auth_server, as_token, kind):
    url, tokens = auth_server
    name = f"guarded-{kind}-{uuid.uuid4().hex[:8]}"
    as_token("bearer", tokens["editor"])
    MlflowClient(tracking_uri=url, registry_uri=url).create_registered_model(name)
    as_token(kind, tokens["viewer"])
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    assert client.get_registered_model(name).name == name
    with pytest.raises(MlflowException) as exc:
        client.set_registered_model_tag(name, "owner", "me")
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert exc.value.get_http_status_code() == 403
    assert "editor role; mlflow-viewer does not have it" in str(exc.value)
    with pytest.raises(MlflowException) as exc:
        client.delete_registered_model(name)
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert client.get_registered_model(name).tags == {}


@pytest.mark.parametrize("kind", ["none", "bearer", "basic"])
def test_no_or_a_wrong_token_raises_unauthenticated(auth_server, as_token, kind):
    url, tokens = auth_server
    as_token(kind, tokens["viewer"][:-1] + ("a" if not tokens["viewer"].endswith("a") else "b"))
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    with pytest.raises(MlflowException) as exc:
        client.search_registered_models()
    assert exc.value.error_code == "UNAUTHENTICATED"
    assert exc.value.get_http_status_code() == 401


def urllib_json(url, token):
    import json

    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as res:
        return json.loads(res.read())
