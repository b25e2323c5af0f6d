"""Export to a folder and tarball, and load it back in one call."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.classification import StudentClassifier, TextClassifier, build_student
from helpers.core.export import (
    ExportError,
    export_model,
    load_export,
    read_export_info,
    reload_difference,
    unpack_tarball,
    write_tarball,
)
from tests.conftest import umask_set, wrong_modes

LOGS = [
    {"loss": 1.2, "learning_rate": 1e-4, "epoch": 0.5, "step": 1, "grad_norm": 3.0},
    {"loss": 0.9, "learning_rate": 5e-5, "epoch": 1.0, "step": 2, "grad_norm": 2.0},
    {"train_runtime": 1.5, "epoch": 1.0, "step": 2},
]


@pytest.fixture
def exported(tiny_model_dir, tmp_path):
    model, tok = build_student(str(tiny_model_dir), ["neg", "pos"], seed=0)
    paths = export_model(model, tok, tmp_path / "out", "tiny", LOGS, info={"task": "tiny"})
    return model, tok, paths


def test_export_layout_and_logs(exported):
    _, _, paths = exported
    names = {p.name for p in paths.model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "training-logs.csv", "training-logs.json", "export-info.json"} <= names
    config = json.loads((paths.model_dir / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "pos"}
    logs = pd.read_csv(paths.model_dir / "training-logs.csv")
    assert logs["loss"].tolist() == [1.2, 0.9] and list(logs.columns)[:4] == [
        "step", "epoch", "loss", "learning_rate"]
    assert json.loads((paths.model_dir / "training-logs.json").read_text()) == LOGS
    assert read_export_info(paths.model_dir) == {"task": "tiny"}
    with tarfile.open(paths.tarball) as tar:
        members = tar.getnames()
    assert paths.tarball.name == "tiny-model.tar"
    assert "model/model.safetensors" in members and "model/config.json" in members


@pytest.mark.parametrize("which", ["model_dir", "output_dir", "tarball"])
def test_reload_gives_the_same_logits(exported, tmp_path, which):
    model, tok, paths = exported
    target = {"model_dir": paths.model_dir, "output_dir": paths.model_dir.parent,
              "tarball": paths.tarball}[which]
    loaded, loaded_tok, folder = load_export(target, StudentClassifier, unpack_to=tmp_path / "unpacked")
    assert loaded.config.id2label == {0: "neg", 1: "pos"}
    enc = tok(["a test sentence", "another"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = model.eval()(**enc).logits.numpy()
        b = loaded(**loaded_tok(["a test sentence", "another"], padding=True,
                                return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert TextClassifier.from_export(target, unpack_to=tmp_path / "u2").labels == ["neg", "pos"]


@pytest.mark.parametrize("mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_exported_and_unpacked_files_get_the_modes_of_the_umask(tiny_model_dir, tmp_path, mask, file_mode,
                                                                 dir_mode):
    # safetensors writes model.safetensors with 0o600 whatever the umask: a model folder copied to
    # a shared place could then not be read by the account that serves it.
    model, tok = build_student(str(tiny_model_dir), ["neg", "pos"], seed=0)
    with umask_set(mask):
        paths = export_model(model, tok, tmp_path / "out", "tiny", LOGS)
        unpacked = unpack_tarball(paths.tarball, tmp_path / "unpacked")
    assert wrong_modes(tmp_path / "out", mask) == {}  # the folder, every file in it, the tarball
    assert wrong_modes(unpacked, mask) == {}
    assert (paths.model_dir / "model.safetensors").stat().st_mode & 0o777 == file_mode
    assert (unpacked / "model" / "model.safetensors").stat().st_mode & 0o777 == file_mode
    assert paths.model_dir.stat().st_mode & 0o777 == dir_mode


def test_apply_umask_sets_files_and_folders_and_leaves_links_alone(tmp_path):
    from helpers.core.files import apply_umask, current_umask

    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o600)
    folder = tmp_path / "model"
    (folder / "onnx").mkdir(parents=True)
    (folder / "onnx" / "model.onnx").write_text("graph")
    (folder / "model.safetensors").write_text("weights")
    (folder / "model.safetensors").chmod(0o700)
    (folder / "onnx").chmod(0o700)
    (folder / "link").symlink_to(outside)
    with umask_set(0o027):
        assert current_umask() == 0o027
        assert apply_umask(folder) == folder
    assert wrong_modes(folder / "onnx", 0o027) == {}  # 0o750 and 0o640
    assert (folder / "model.safetensors").stat().st_mode & 0o777 == 0o640  # no execute bit
    assert outside.stat().st_mode & 0o777 == 0o600  # the link was not followed


def test_missing_safetensors_is_a_clear_error(exported):
    _, _, paths = exported
    (paths.model_dir / "model.safetensors").unlink()
    with pytest.raises(ExportError, match=r"missing model\.safetensors\. Fix: re-run the train"):
        load_export(paths.model_dir)


def test_missing_export_folder(tmp_path):
    with pytest.raises(ExportError, match="does not exist. Fix: run the training notebook"):
        load_export(tmp_path / "nothing-here")


def test_re_export_replaces_old_files(exported, tiny_model_dir):
    model, tok, paths = exported
    (paths.model_dir / "stale.bin").write_text("old")
    export_model(model, tok, paths.model_dir.parent, "tiny", LOGS)
    assert not (paths.model_dir / "stale.bin").exists()


def test_reload_difference_is_zero_for_a_good_export_and_large_for_a_wrong_head(exported):
    model, tok, paths = exported
    texts = ["a test sentence", "another one"]
    assert reload_difference(model, tok, paths.model_dir, texts, StudentClassifier) < 1e-5
    with torch.no_grad():
        # the in-memory model no longer matches the export (random: a constant added to every
        # weight would shift the logits by the pooled vector's sum, ~0 after LayerNorm)
        noise = torch.randn(model.classifier.weight.shape, generator=torch.Generator().manual_seed(0))
        model.classifier.weight.add_(noise)
    assert reload_difference(model, tok, paths.model_dir, texts, StudentClassifier) > 0.01


def test_require_family_accepts_its_own_and_unnamed_exports_and_names_the_notebook_otherwise(tmp_path):
    from helpers.core.export import require_family

    folder = tmp_path / "model"
    folder.mkdir()
    assert require_family(folder, "classification", "classification-training.ipynb") == {}  # no export-info
    (folder / "export-info.json").write_text(json.dumps({"family": "classification", "task": "t"}))
    assert require_family(folder, "classification", "x.ipynb")["task"] == "t"
    with pytest.raises(ExportError, match=r"export of the classification family, not of question-answering\. "
                                          r"Fix: .*question-answering-training\.ipynb"):
        require_family(folder, "question-answering", "question-answering-training.ipynb")


# ---------------------------------------------------------------------------------------
# Unpacking a tarball: all or nothing, and never outside its folder
# ---------------------------------------------------------------------------------------


def tarball_of(tmp_path: Path, files: dict[str, str], name: str = "t-model.tar") -> Path:
    """A tarball made by ``write_tarball`` that holds ``model/`` with ``files`` (relative path -> text)."""
    folder = tmp_path / f"src-{name}" / "model"
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return write_tarball(folder, tmp_path / name)


def tree(folder: Path) -> dict[str, str | None]:
    """Every path under ``folder`` (hidden ones too) with the text of files; None for folders."""
    return {str(p.relative_to(folder)): (p.read_text() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_unpacking_replaces_the_model_folder_as_a_whole(tmp_path):
    old = tarball_of(tmp_path, {"config.json": "old", "onnx/model.onnx": "old graph"}, "old-model.tar")
    new = tarball_of(tmp_path, {"config.json": "new", "tokenizer.json": "tok"}, "new-model.tar")
    target = tmp_path / "unpacked"
    assert unpack_tarball(old, target) == target
    assert (target / "model" / "onnx" / "model.onnx").is_file()
    (target / "notes.txt").write_text("mine")  # beside model/: not the tarball's, so kept
    unpack_tarball(new, target)
    assert tree(target) == {"model": None, "model/config.json": "new", "model/tokenizer.json": "tok",
                            "notes.txt": "mine"}  # no stale onnx/ and no temporary folder left


@pytest.mark.parametrize("cut", ["inside a file", "at a member boundary"])
def test_a_truncated_tarball_leaves_the_folder_as_it_was(tmp_path, cut):
    good = tarball_of(tmp_path, {"config.json": "v1", "weights.bin": "1" * 5000})
    target = tmp_path / "unpacked"
    unpack_tarball(good, target)
    before = tree(target)
    newer = tarball_of(tmp_path, {"config.json": "v2", "weights.bin": "2" * 5000, "z.json": "{}"},
                       "newer-model.tar")
    with tarfile.open(newer) as tar:
        weights, last = tar.getmember("model/weights.bin"), tar.getmembers()[-1]
    # Inside weights.bin, or just before the last file's header (which tarfile alone takes for the end).
    end = last.offset if cut == "at a member boundary" else weights.offset_data + 2500
    newer.write_bytes(newer.read_bytes()[:end])
    with pytest.raises(ExportError, match=r"newer-model\.tar .*truncated.* Fix: .*re-download.*re-export"):
        unpack_tarball(newer, target)
    assert tree(target) == before
    with pytest.raises(ExportError, match="truncated"):
        unpack_tarball(newer, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()  # a folder that did not exist is not left behind


def test_a_failed_move_into_place_is_undone(tmp_path, monkeypatch):
    first = tarball_of(tmp_path, {"config.json": "v1"}, "first-model.tar")
    target = tmp_path / "unpacked"
    unpack_tarball(first, target)
    (target / "model" / "stale.txt").write_text("from before")
    before = tree(target)
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(src).parent.name == "new":  # the new model/ folder going into place
            raise PermissionError(13, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    second = tarball_of(tmp_path, {"config.json": "v2"}, "second-model.tar")
    with pytest.raises(ExportError, match=r"second-model\.tar could not be unpacked .*Permission denied"):
        unpack_tarball(second, target)
    assert tree(target) == before  # the old model/ was moved aside, then back


def test_a_missing_tarball_is_a_clear_error_and_creates_nothing(tmp_path):
    with pytest.raises(ExportError, match=r"nope-model\.tar could not be unpacked .*Fix: check that the"):
        unpack_tarball(tmp_path / "nope-model.tar", tmp_path / "unpacked")
    assert not (tmp_path / "unpacked").exists()


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, linkname
    return member


def unsafe_tarball(path: Path, bad: tarfile.TarInfo) -> Path:
    """A tarball holding ``model/config.json`` and then ``bad``."""
    with tarfile.open(path, "w") as tar:
        tar.addfile(tar_member("model", tarfile.DIRTYPE))
        good = tar_member("model/config.json")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"{}"))
        bad.size = 1 if bad.isreg() else 0
        tar.addfile(bad, io.BytesIO(b"x") if bad.isreg() else None)
    return path


UNSAFE_MEMBERS = {
    "parent folder": lambda tmp: tar_member("../escaped"),
    "parent inside a path": lambda tmp: tar_member("model/../../escaped"),
    "absolute path": lambda tmp: tar_member(str(tmp / "escaped")),
    "symlink outside": lambda tmp: tar_member("model/link", tarfile.SYMTYPE, "../../escaped"),
    "absolute symlink": lambda tmp: tar_member("model/link", tarfile.SYMTYPE, str(tmp / "escaped")),
    "hard link inside": lambda tmp: tar_member("model/hard", tarfile.LNKTYPE, "model/config.json"),
    "device": lambda tmp: tar_member("model/dev", tarfile.CHRTYPE),
    "fifo": lambda tmp: tar_member("model/pipe", tarfile.FIFOTYPE),
}


def use_data_filter(monkeypatch, on: bool) -> None:
    """Take the ``filter="data"`` path, or the fallback for Pythons without it (< 3.10.12 / 3.11.4)."""
    from helpers.core import folders

    if on and not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter")
    monkeypatch.setattr(folders, "HAS_DATA_FILTER", on)


@pytest.mark.parametrize("data_filter", [True, False], ids=["data filter", "fallback"])
@pytest.mark.parametrize("kind", list(UNSAFE_MEMBERS))
def test_a_tarball_with_an_unsafe_member_is_refused_and_nothing_is_extracted(tmp_path, monkeypatch, kind,
                                                                             data_filter):
    use_data_filter(monkeypatch, data_filter)
    bad = UNSAFE_MEMBERS[kind](tmp_path)
    tarball = unsafe_tarball(tmp_path / "bad-model.tar", bad)
    target = tmp_path / "deep" / "unpacked"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("kept")
    with pytest.raises(ExportError, match=r"bad-model\.tar holds '.*', which .* refused.* Fix: re-download"):
        unpack_tarball(tarball, target)
    assert tree(target) == {"keep.txt": "kept"}
    assert not any(p.name == "escaped" for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("data_filter", [True, False], ids=["data filter", "fallback"])
def test_a_safe_tarball_unpacks_with_or_without_the_data_filter(tmp_path, monkeypatch, data_filter):
    use_data_filter(monkeypatch, data_filter)
    calls = []
    real_extractall = tarfile.TarFile.extractall

    def spy(self, *args, **kwargs):
        calls.append(kwargs.get("filter"))
        return real_extractall(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extractall", spy)
    tarball = tmp_path / "safe-model.tar"
    with tarfile.open(tarball, "w") as tar:
        for name, text in [("model", None), ("model/config.json", b"{}"), ("model/sub", None),
                           ("model/sub/vocab.txt", b"a\nb\n")]:
            member = tar_member(name, tarfile.DIRTYPE if text is None else tarfile.REGTYPE)
            member.uid, member.uname, member.size = 54321, "no-such-user", len(text or b"")
            member.mode = 0o755 if text is None else 0o4644  # a setuid bit, which must not survive
            tar.addfile(member, io.BytesIO(text) if text else None)
    target = unpack_tarball(tarball, tmp_path / "unpacked")
    assert calls == (["data"] if data_filter else [None])
    assert tree(target) == {"model": None, "model/config.json": "{}", "model/sub": None,
                            "model/sub/vocab.txt": "a\nb\n"}
    for p in target.rglob("*"):
        assert p.stat().st_uid == os.geteuid() and not p.stat().st_mode & 0o7000, p  # ours, no setuid


def test_check_tar_members_names_the_first_unsafe_member(tmp_path):
    from helpers.core.folders import check_tar_members

    safe = tarball_of(tmp_path, {"config.json": "{}", "onnx/model.onnx": "graph"})
    with tarfile.open(safe) as tar:
        assert [m.name for m in check_tar_members(tar, safe)] == [
            "model", "model/config.json", "model/onnx", "model/onnx/model.onnx"]
    unsafe = unsafe_tarball(tmp_path / "bad-model.tar", tar_member("model/link", tarfile.SYMTYPE, "/etc"))
    with tarfile.open(unsafe) as tar, pytest.raises(
            ExportError, match=r"bad-model\.tar holds 'model/link', which is a symbolic link \(to '/etc'\)"):
        check_tar_members(tar, unsafe)
