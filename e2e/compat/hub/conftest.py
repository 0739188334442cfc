"""Starts the real `berth` binary for the Hub compatibility suite and seeds a repo through Berth's own CLI."""
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BIN = ROOT / "packages" / "cli" / "bin" / "berth.js"
REPO = "team/chatbot"

# One start_berth for every compatibility suite: the MLflow suite's.
_spec = importlib.util.spec_from_file_location("berth_mlflow_conftest", HERE.parent / "mlflow" / "conftest.py")
_mlflow_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mlflow_conftest)
start_berth = _mlflow_conftest.start_berth


def berth(url, *args):
    """Runs the `berth` CLI against the server and returns its --json answer."""
    out = subprocess.run(["node", str(BIN), *args, "--url", url, "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"berth {' '.join(args)} failed: {out.stderr}"
    return json.loads(out.stdout) if out.stdout.strip() else None


def write_tree(root, files):
    for path, content in files.items():
        p = Path(root) / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


CONFIG_V1 = {"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 8, "vocab_size": 16}
CONFIG_V2 = {**CONFIG_V1, "n_layer": 4}
README = "---\nlicense: mit\ntags: [chat]\nlibrary_name: transformers\n---\n# chatbot\n"
# Over 10 MiB, the size from which the Hub stores a file in LFS.
BIG = os.urandom(11 * 1024 * 1024)

V1_FILES = {
    "config.json": json.dumps(CONFIG_V1),
    "README.md": README,
    "model.safetensors": BIG,
    "tokenizer/vocab.txt": "a\nb\nc\n",
}
V2_FILES = {"config.json": json.dumps(CONFIG_V2), "README.md": README, "model.safetensors": BIG}


@pytest.fixture(scope="session")
def hub():
    """The server, with team/chatbot at version 1 (alias champion) and version 2 (latest, main)."""
    data = tempfile.mkdtemp(prefix="berth-hub-")
    cache = tempfile.mkdtemp(prefix="berth-hub-cache-")
    proc, url = start_berth(data)
    try:
        for n, files in enumerate([V1_FILES, V2_FILES], start=1):
            src = Path(data).parent / f"{Path(data).name}-src{n}"
            write_tree(src, files)
            berth(url, "push", str(src), "--model", REPO, "--description", f"version {n} of the chatbot")
            shutil.rmtree(src, ignore_errors=True)
        berth(url, "alias", "set", REPO, "champion", "1")
        # huggingface_hub reads HF_ENDPOINT and the cache folder once, at import: set them before any test imports it.
        os.environ.update({"HF_ENDPOINT": url, "HF_HUB_CACHE": cache, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
        os.environ.pop("HF_TOKEN", None)
        os.environ.pop("HF_HUB_OFFLINE", None)
        yield {"url": url, "repo": REPO, "cache": cache, "data": data}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
