"""Starts the real `berth` binary on a free loopback port for the MLflow compatibility suite."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / "packages" / "cli" / "bin" / "berth.js"


def start_berth(data, *extra, env=None):
    """Starts `berth server` on a free loopback port over `data`; returns the process and its URL once /healthz answers."""
    proc = subprocess.Popen(
        ["node", str(BIN), "server", "--host", "127.0.0.1", "--port", "0", "--data", data, "--log-level", "warn", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = None
    deadline = time.time() + 30
    while time.time() < deadline and url is None:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"berth server exited with {proc.returncode}")
        m = re.search(r"listening on (http://\S+)", line or "", re.I)
        if m:
            url = m.group(1)
    assert url, "berth server did not start"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, url


@pytest.fixture(scope="session")
def berth_url():
    data = tempfile.mkdtemp(prefix="berth-mlflow-")
    # The webhook tests' receivers listen on loopback, which webhooks may not call by default.
    proc, url = start_berth(data, env={"BERTH_WEBHOOK_ALLOW_PRIVATE": "1"})
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def tracking(berth_url):
    import mlflow

    # Fail fast instead of retrying 5xx answers for minutes: a 5xx is a bug here.
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_TRACKING_URI"] = berth_url
    mlflow.set_tracking_uri(berth_url)
    yield berth_url
