"""MLflow 3 webhooks (MlflowClient.create_webhook & co.) run unchanged against Berth.

Berth stores them as its own webhooks and delivers them in MLflow's format: the body
{entity, action, timestamp, data} and the X-MLflow-Delivery-Id / X-MLflow-Timestamp /
X-MLflow-Signature headers, the signature being what MLflow's documentation tells receivers to
check: v1,base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>")).
"""
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

SECRET = "mlflow-receiver-secret"


def verify(headers, body):
    delivery_id = headers["X-MLflow-Delivery-Id"]
    timestamp = headers["X-MLflow-Timestamp"]
    want = hmac.new(SECRET.encode("utf-8"), f"{delivery_id}.{timestamp}.{body}".encode("utf-8"), hashlib.sha256).digest()
    return headers.get("X-MLflow-Signature") == "v1," + base64.b64encode(want).decode("utf-8")


@pytest.fixture()
def receiver():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
            calls.append({"headers": dict(self.headers), "body": body, "signed": verify(self.headers, body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"received")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mlflow-hook", calls
    server.shutdown()


def wait_for(pred, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_webhook_lifecycle_test_send_and_a_signed_delivery(tracking, receiver):
    url, calls = receiver
    client = MlflowClient()
    name = f"hooked-{uuid.uuid4().hex[:8]}"
    wh = client.create_webhook(
        name="deploy-hook",
        url=url,
        events=["model_version.created", "model_version_alias.created"],
        secret=SECRET,
        description="tells the deployer",
    )
    assert wh.webhook_id.startswith("wh_")
    assert wh.name == "deploy-hook"
    assert wh.status.value == "ACTIVE"
    assert sorted(str(e) for e in wh.events) == ["model_version.created", "model_version_alias.created"]

    assert wh.webhook_id in [w.webhook_id for w in client.list_webhooks()]
    got = client.get_webhook(wh.webhook_id)
    assert (got.url, got.description) == (url, "tells the deployer")

    updated = client.update_webhook(wh.webhook_id, description="tells the deployer, v2", events=["model_version_alias.created"])
    assert updated.description == "tells the deployer, v2"
    assert [str(e) for e in updated.events] == ["model_version_alias.created"]

    result = client.test_webhook(wh.webhook_id)
    assert result.success, result
    assert result.response_status == 200
    wait_for(lambda: len(calls) == 1)
    test_call = calls[0]
    assert test_call["signed"]
    payload = json.loads(test_call["body"])
    assert (payload["entity"], payload["action"]) == ("model_version_alias", "created")
    assert payload["data"] == {"name": "example_model", "alias": "example_alias", "version": "1"}

    client.create_registered_model(name)
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/MLmodel")
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(name, "staging", mv.version)
    wait_for(lambda: len(calls) == 2)
    real = calls[1]
    assert real["signed"]
    assert real["headers"]["X-MLflow-Delivery-Id"].startswith("evt_")
    payload = json.loads(real["body"])
    assert (payload["entity"], payload["action"]) == ("model_version_alias", "created")
    assert payload["data"] == {"name": name, "alias": "staging", "version": str(mv.version)}

    client.update_webhook(wh.webhook_id, status="DISABLED")
    assert client.get_webhook(wh.webhook_id).status.value == "DISABLED"

    client.delete_webhook(wh.webhook_id)
    with pytest.raises(MlflowException) as e:
        client.get_webhook(wh.webhook_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_events_berth_never_sends_and_bad_urls_are_refused(tracking):
    client = MlflowClient()
    with pytest.raises(MlflowException) as e:
        client.create_webhook(name="prompts", url="https://example.com/hook", events=["prompt.created"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "does not send webhook event PROMPT/CREATED" in e.value.message
    with pytest.raises(MlflowException) as e:
        client.create_webhook(name="ftp", url="ftp://example.com/hook", events=["model_version.created"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "must be http or https" in e.value.message
