"""The real huggingface_hub client uploading to Berth's Hub front (reference/hf-hub.md §4), with HF_HUB_DISABLE_XET=1."""
import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import berth, write_tree

REPO = "team/uploaded"
CONFIG_V1 = {"model_type": "gpt2", "n_layer": 2}
CONFIG_V2 = {"model_type": "gpt2", "n_layer": 6}
README = "---\nlicense: apache-2.0\ntags: [uploaded]\n---\n# uploaded\n"
# Over 10 MiB: an LFS file for the Hub, uploaded through the batch API and its upload link.
WEIGHTS = os.urandom(12 * 1024 * 1024)


@pytest.fixture(scope="module")
def uploaded(hub, tmp_path_factory):
    """team/uploaded created with create_repo and filled by one upload_folder; returns that commit."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(REPO)
    assert str(url) == f"{hub['url']}/{REPO}"
    assert url.repo_id == REPO
    folder = tmp_path_factory.mktemp("ckpt")
    write_tree(folder, {"config.json": json.dumps(CONFIG_V1), "README.md": README, "model.safetensors": WEIGHTS, "extra/notes.txt": "notes\n"})
    info = api.upload_folder(repo_id=REPO, folder_path=str(folder), commit_message="first upload")
    return {"commit": info.oid, "info": info}


def test_create_repo_refuses_an_existing_repo_unless_exist_ok(uploaded):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as err:
        HfApi().create_repo(REPO)
    assert err.value.response.status_code == 409
    assert HfApi().create_repo(REPO, exist_ok=True).repo_id == REPO


def test_upload_folder_with_a_large_file_is_a_version_with_identical_bytes(hub, uploaded):
    from huggingface_hub import HfApi, hf_hub_download

    commit = uploaded["commit"]
    assert len(commit) == 40
    assert uploaded["info"].commit_url == f"{hub['url']}/{REPO}/commit/{commit}"
    assert HfApi().model_info(REPO).sha == commit
    p = hf_hub_download(REPO, "model.safetensors", revision=commit)
    assert hashlib.sha256(Path(p).read_bytes()).hexdigest() == hashlib.sha256(WEIGHTS).hexdigest()
    assert json.loads(Path(hf_hub_download(REPO, "config.json")).read_text()) == CONFIG_V1
    assert HfApi().model_info(REPO).card_data.license == "apache-2.0"
    shown = berth(hub["url"], "show", REPO)
    assert shown["version"] == 1
    assert shown["digest"].removeprefix("sha256:").startswith(commit)
    assert shown["description"] == "first upload"


def test_uploading_unchanged_files_again_makes_no_new_version(hub, uploaded):
    from huggingface_hub import HfApi

    # preupload answers each file's current oid, so the client drops the unchanged weights from the commit.
    info = HfApi().upload_file(repo_id=REPO, path_or_fileobj=WEIGHTS, path_in_repo="model.safetensors")
    assert info.oid == uploaded["commit"]
    assert berth(hub["url"], "show", REPO)["version"] == 1


def test_create_commit_adds_updates_and_deletes_and_the_old_commit_keeps_its_bytes(uploaded):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download, list_repo_files

    api = HfApi()
    head = api.model_info(REPO).sha
    info = api.create_commit(
        repo_id=REPO,
        operations=[
            CommitOperationAdd("config.json", json.dumps(CONFIG_V2).encode()),
            CommitOperationAdd("tokenizer/vocab.txt", b"a\nb\n"),
            CommitOperationDelete("extra/notes.txt"),
        ],
        commit_message="second",
        parent_commit=head,
    )
    assert info.oid != head
    assert sorted(list_repo_files(REPO)) == ["README.md", "config.json", "model.safetensors", "tokenizer/vocab.txt"]
    assert json.loads(Path(hf_hub_download(REPO, "config.json", revision=info.oid)).read_text()) == CONFIG_V2
    assert json.loads(Path(hf_hub_download(REPO, "config.json", revision=uploaded["commit"])).read_text()) == CONFIG_V1
    assert Path(hf_hub_download(REPO, "extra/notes.txt", revision=uploaded["commit"])).read_text() == "notes\n"
    titles = [c.title for c in api.list_repo_commits(REPO)]
    assert titles[0] == "second"
    api.create_commit(repo_id=REPO, operations=[CommitOperationDelete("tokenizer/")], commit_message="drop the tokenizer folder")
    assert "tokenizer/vocab.txt" not in list_repo_files(REPO)


def test_a_stale_parent_commit_is_refused_and_commits_nothing(uploaded):
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    head = api.model_info(REPO).sha
    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(repo_id=REPO, operations=[CommitOperationAdd("late.txt", b"late")], commit_message="late", parent_commit=uploaded["commit"])
    assert err.value.response.status_code == 412
    assert api.model_info(REPO).sha == head


def test_deleting_a_missing_file_raises_entry_not_found(uploaded):
    from huggingface_hub import CommitOperationDelete, HfApi
    from huggingface_hub.errors import EntryNotFoundError

    with pytest.raises(EntryNotFoundError):
        HfApi().create_commit(repo_id=REPO, operations=[CommitOperationDelete("no/such/file.txt")], commit_message="delete nothing")


def test_a_readme_with_broken_front_matter_is_refused_through_validate_yaml(uploaded):
    from huggingface_hub import HfApi

    api = HfApi()
    head = api.model_info(REPO).sha
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(repo_id=REPO, path_or_fileobj=b"---\nlicense: [mit\n---\n# broken\n", path_in_repo="README.md")
    assert api.model_info(REPO).sha == head
    fixed = api.upload_file(repo_id=REPO, path_or_fileobj=b"---\nlicense: mit\n---\n# fixed\n", path_in_repo="README.md")
    assert api.model_info(REPO).card_data.license == "mit"
    assert api.model_info(REPO).sha == fixed.oid
