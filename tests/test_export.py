"""Export to a folder and tarball, and load it back in one call."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.classification import TextClassifier, build_student
from helpers.core.export import (
    ExportError,
    export_model,
    load_export,
    read_export_info,
    reload_difference,
)

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
    loaded, loaded_tok, folder = load_export(target, unpack_to=tmp_path / "unpacked")
    assert loaded.config.id2label == {0: "neg", 1: "pos"}
    enc = tok(["a test sentence", "another"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = model.eval()(**enc).logits.numpy()
        b = loaded(**loaded_tok(["a test sentence", "another"], padding=True,
                                return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert TextClassifier.from_export(target, unpack_to=tmp_path / "u2").labels == ["neg", "pos"]


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
    assert reload_difference(model, tok, paths.model_dir, texts) < 1e-5
    with torch.no_grad():
        model.classifier.weight.add_(1.0)  # the in-memory model no longer matches the export
    assert reload_difference(model, tok, paths.model_dir, texts) > 0.01


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
