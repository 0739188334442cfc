"""Large artifacts through the proxy in parts (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD), and the
download-side probes the client makes, run unchanged against Berth."""
import os
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

MiB = 1024 * 1024


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def small_parts(monkeypatch):
    """Multipart upload on, for files of 1 MiB and more, in parts of 1 MiB."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(MiB))


@pytest.fixture
def parts_sent(monkeypatch):
    """The (part number, url) of every part the client PUTs, through its own upload code."""
    sent = []
    real = HttpArtifactRepository._upload_part

    def spy(credential, local_file, size, start_byte):
        sent.append((credential.part_number, credential.url))
        return real(credential, local_file, size, start_byte)

    monkeypatch.setattr(HttpArtifactRepository, "_upload_part", staticmethod(spy))
    return sent


def model_dir(root, weights):
    src = root / "model"
    src.mkdir()
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / "weights.bin").write_bytes(weights)
    return src


def test_large_file_uploads_in_parts_downloads_byte_identical_and_registers(tracking, berth_url, tmp_path, small_parts, parts_sent):
    weights = os.urandom(5 * MiB + 12345)
    src = model_dir(tmp_path, weights)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="model")

    # six parts, sent in parallel by the client's thread pool, each to Berth itself
    assert sorted(n for n, _ in parts_sent) == [1, 2, 3, 4, 5, 6]
    assert all(url.startswith(f"{berth_url}/api/2.0/mlflow-artifacts/mpu/part/") for _, url in parts_sent)

    listed = {f.path: f for f in MlflowClient().list_artifacts(run.info.run_id, "model")}
    assert listed["model/weights.bin"].file_size == len(weights)
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model/weights.bin", dst_path=str(tmp_path / "dl"))
    assert Path(got).read_bytes() == weights

    name = unique("multipart")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    pinned = mlflow.artifacts.download_artifacts(f"models:/{name}/{mv.version}", dst_path=str(tmp_path / "registered"))
    assert (Path(pinned) / "weights.bin").read_bytes() == weights
    assert (Path(pinned) / "MLmodel").read_text() == "flavors: {}\n"


def test_failed_part_is_aborted_and_nothing_is_recorded(tracking, tmp_path, small_parts, monkeypatch):
    real = HttpArtifactRepository._upload_part

    def flaky(credential, local_file, size, start_byte):
        if credential.part_number == 2:
            raise OSError("connection reset while sending part 2")
        return real(credential, local_file, size, start_byte)

    monkeypatch.setattr(HttpArtifactRepository, "_upload_part", staticmethod(flaky))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MiB))
    with mlflow.start_run() as run:
        # the client aborts the upload, then raises the part's failure (an abort error would surface instead)
        with pytest.raises(MlflowException, match="Failed to upload at least one part"):
            mlflow.log_artifact(str(big), artifact_path="data")
    assert MlflowClient().list_artifacts(run.info.run_id, "data") == []


def test_without_the_switch_the_client_probes_server_info_and_uploads_whole_files(tracking, tmp_path, monkeypatch, parts_sent):
    # Berth does not serve /api/3.0/mlflow/server-info: the client must read that as "no multipart"
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", raising=False)
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MiB))
    data = os.urandom(2 * MiB)
    (tmp_path / "blob.bin").write_bytes(data)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "blob.bin"))
    assert parts_sent == []
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="blob.bin", dst_path=str(tmp_path / "dl"))
    assert Path(got).read_bytes() == data


def test_multipart_download_switch_falls_back_to_the_proxy(tracking, tmp_path, monkeypatch):
    data = os.urandom(3 * MiB + 7)
    (tmp_path / "w.bin").write_bytes(data)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "w.bin"))
    probes = []
    real = HttpArtifactRepository._get_presigned_download_url

    def spy(self, remote_file_path):
        probes.append(remote_file_path)
        return real(self, remote_file_path)

    monkeypatch.setattr(HttpArtifactRepository, "_get_presigned_download_url", spy)
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "true")
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="w.bin", dst_path=str(tmp_path / "dl"))
    assert probes == ["w.bin"]
    assert Path(got).read_bytes() == data
