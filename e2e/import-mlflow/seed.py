"""The real MLflow client against a running MLflow server (MLFLOW_TRACKING_URI), for the import tests and bench.

usage: seed.py small                  three models with versions, runs, aliases, stages, tags and descriptions
       seed.py many N MODEL           N versions of MODEL, each with its own run and two small files
       seed.py bulk N MODEL           N versions of MODEL quickly: 100 versions' folders per run
       seed.py download N MODEL DIR   downloads every version of MODEL as the client does (models:/MODEL/V),
                                      prints {"versions": N, "seconds": S}
"""
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402


def logged_version(client, model, files, params=None, metrics=None, experiment="import-test"):
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        if params:
            mlflow.log_params(params)
        for k, v in (metrics or {}).items():
            mlflow.log_metric(k, v)
        with tempfile.TemporaryDirectory() as d:
            for path, data in files.items():
                full = os.path.join(d, path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as f:
                    f.write(data)
            mlflow.log_artifacts(d, artifact_path="model")
    return client.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)


def small():
    client = MlflowClient()
    client.create_registered_model("chatbot", tags={"team": "nlp"}, description="The chat model")
    v1 = logged_version(client, "chatbot", {"weights.bin": b"w1" * 1000, "config/config.json": b'{"layers": 2}'}, {"lr": "0.1"}, {"acc": 0.8})
    v2 = logged_version(client, "chatbot", {"weights.bin": b"w2" * 1000, "config/config.json": b'{"layers": 3}'}, {"lr": "0.05"}, {"acc": 0.9, "loss": 0.25})
    client.update_model_version("chatbot", v2.version, description="better")
    client.set_model_version_tag("chatbot", v2.version, "validated", "yes")
    client.transition_model_version_stage("chatbot", v1.version, "Archived")
    client.transition_model_version_stage("chatbot", v2.version, "Production")
    client.set_registered_model_alias("chatbot", "champion", v2.version)
    client.set_registered_model_alias("chatbot", "previous", v1.version)
    client.create_registered_model("ranker")
    logged_version(client, "ranker", {"model.pkl": os.urandom(3 * 1024 * 1024)}, {"depth": "6"}, {"ndcg": 0.7})
    client.create_registered_model("other-thing")
    logged_version(client, "other-thing", {"a.txt": b"a"})


def many(n, model):
    client = MlflowClient()
    client.create_registered_model(model)
    for i in range(n):
        logged_version(client, model, {"weights.bin": f"version {i}\n".encode() * 100, "MLmodel": b"flavors: {}\n"}, {"i": str(i)}, {"score": i / n})


def bulk(n, model):
    client = MlflowClient()
    client.create_registered_model(model)
    mlflow.set_experiment("import-bench")
    for start in range(0, n, 100):
        with mlflow.start_run() as run:
            mlflow.log_params({"first": str(start)})
            mlflow.log_metric("score", start / n)
            with tempfile.TemporaryDirectory() as d:
                for i in range(start, min(n, start + 100)):
                    os.makedirs(os.path.join(d, f"v{i}"))
                    with open(os.path.join(d, f"v{i}", "weights.bin"), "wb") as f:
                        f.write(os.urandom(16 * 1024))
                    with open(os.path.join(d, f"v{i}", "MLmodel"), "wb") as f:
                        f.write(f"version: {i}\n".encode())
                mlflow.log_artifacts(d)
        for i in range(start, min(n, start + 100)):
            client.create_model_version(model, f"runs:/{run.info.run_id}/v{i}", run.info.run_id, await_creation_for=0)


def download(n, model, dest):
    import json
    import time

    t = time.perf_counter()
    for v in range(1, n + 1):
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model}/{v}", dst_path=os.path.join(dest, str(v)))
    print(json.dumps({"versions": n, "seconds": time.perf_counter() - t}))


if __name__ == "__main__":
    if sys.argv[1] == "small":
        small()
    elif sys.argv[1] == "many":
        many(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "bulk":
        bulk(int(sys.argv[2]), sys.argv[3])
    else:
        download(int(sys.argv[2]), sys.argv[3], sys.argv[4])
