"""The real huggingface_hub and transformers clients downloading from Berth's Hub front (reference/hf-hub.md)."""
import json
from pathlib import Path

import pytest

from conftest import BIG, CONFIG_V1, CONFIG_V2, V1_FILES, V2_FILES


def read(path):
    return Path(path).read_bytes()


def as_bytes(content):
    return content if isinstance(content, bytes) else content.encode()


def commits(hub):
    from huggingface_hub import HfApi

    api = HfApi()
    return api.model_info(hub["repo"], revision="champion").sha, api.model_info(hub["repo"]).sha


def test_model_info_names_the_commit_files_and_card(hub):
    from huggingface_hub import HfApi

    info = HfApi().model_info(hub["repo"], files_metadata=True)
    assert info.id == hub["repo"]
    assert len(info.sha) == 40
    assert sorted(s.rfilename for s in info.siblings) == sorted(V2_FILES)
    big = next(s for s in info.siblings if s.rfilename == "model.safetensors")
    assert big.size == len(BIG)
    assert big.lfs.size == len(BIG)
    assert info.card_data.license == "mit"
    assert info.library_name == "transformers"
    old = HfApi().model_info(hub["repo"], revision="champion")
    assert old.sha != info.sha
    assert "tokenizer/vocab.txt" in [s.rfilename for s in old.siblings]


def test_hf_hub_download_at_main_an_alias_and_a_commit_is_byte_identical(hub):
    from huggingface_hub import hf_hub_download

    champion, main = commits(hub)
    p = hf_hub_download(hub["repo"], "config.json")
    assert json.loads(read(p)) == CONFIG_V2
    assert f"snapshots/{main}/" in p
    p = hf_hub_download(hub["repo"], "config.json", revision="champion")
    assert json.loads(read(p)) == CONFIG_V1
    # The alias answered with the immutable commit id: the file lands in that commit's snapshot.
    assert f"snapshots/{champion}/" in p
    p = hf_hub_download(hub["repo"], "tokenizer/vocab.txt", revision=champion)
    assert read(p) == as_bytes(V1_FILES["tokenizer/vocab.txt"])
    p = hf_hub_download(hub["repo"], "model.safetensors", revision=main)
    assert read(p) == BIG


def test_an_old_commit_keeps_its_old_bytes_after_a_new_version(hub):
    from huggingface_hub import hf_hub_download

    champion, main = commits(hub)
    assert json.loads(read(hf_hub_download(hub["repo"], "config.json", revision=champion, force_download=True))) == CONFIG_V1
    assert json.loads(read(hf_hub_download(hub["repo"], "config.json", revision=main, force_download=True))) == CONFIG_V2


def test_snapshot_download_fetches_every_file_of_an_alias(hub, tmp_path):
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(hub["repo"], revision="champion", local_dir=tmp_path / "snap"))
    for path, content in V1_FILES.items():
        assert read(folder / path) == as_bytes(content), path
    cached = Path(snapshot_download(hub["repo"]))
    assert sorted(str(p.relative_to(cached)) for p in cached.rglob("*") if p.is_file()) == sorted(V2_FILES)


def test_list_repo_refs_commits_and_tree(hub):
    from huggingface_hub import HfApi

    api = HfApi()
    champion, main = commits(hub)
    refs = api.list_repo_refs(hub["repo"])
    assert {(b.name, b.target_commit) for b in refs.branches} == {("main", main), ("champion", champion)}
    assert refs.tags == []
    history = api.list_repo_commits(hub["repo"])
    assert [c.commit_id for c in history] == [main, champion]
    assert history[1].title == "version 1 of the chatbot"
    assert [c.commit_id for c in api.list_repo_commits(hub["repo"], revision="champion")] == [champion]
    tree = {e.path: e for e in api.list_repo_tree(hub["repo"], revision="champion", recursive=True)}
    assert set(tree) == {*V1_FILES, "tokenizer"}
    assert tree["model.safetensors"].size == len(BIG)
    assert [e.path for e in api.list_repo_tree(hub["repo"], path_in_repo="tokenizer", revision="champion")] == ["tokenizer/vocab.txt"]
    info = api.get_paths_info(hub["repo"], ["config.json", "tokenizer", "missing"], revision="champion")
    assert [e.path for e in info] == ["config.json", "tokenizer"]


def test_not_found_errors_raise_the_clients_own_exceptions(hub):
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("team/missing", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        HfApi().model_info("team/missing")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(hub["repo"], "config.json", revision="no-such-alias")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(hub["repo"], "config.json", revision="0" * 40)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(hub["repo"], "missing.json")
    with pytest.raises(EntryNotFoundError):
        # vocab.txt is in version 1 only: gone at main.
        hf_hub_download(hub["repo"], "tokenizer/vocab.txt")


def test_transformers_autoconfig_loads_at_an_alias(hub):
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(hub["repo"], revision="champion").n_layer == CONFIG_V1["n_layer"]
    assert AutoConfig.from_pretrained(hub["repo"]).n_layer == CONFIG_V2["n_layer"]
