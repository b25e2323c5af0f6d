"""Export a trained model as a folder (+ tarball) and load it back in one call.

Layout written by :func:`export_model` under ``output_dir``::

    model/
        config.json            with id2label / label2id for classifiers
        model.safetensors
        tokenizer files        tokenizer.json, tokenizer_config.json, ...
        training-logs.csv      per-step loss, learning rate, epoch
        training-logs.json     the same, plus every record the Trainer logged
        export-info.json       task, base model, metrics at export time
    <name>-model.tar           holds model/
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core import onnx
from helpers.core.errors import ExportError
from helpers.core.files import apply_umask

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer_config.json")
LOG_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm")


@dataclass
class ExportPaths:
    """Where :func:`export_model` wrote things."""

    model_dir: Path
    tarball: Path


def training_logs_frame(log_history: list[dict]) -> pd.DataFrame:
    """Per-step training records (those with a ``loss``) from ``Trainer.state.log_history``."""
    rows = [r for r in log_history if "loss" in r]
    df = pd.DataFrame(rows)
    for col in LOG_COLUMNS:
        if col not in df:
            df[col] = math.nan
    return df[list(LOG_COLUMNS)].reset_index(drop=True)


def write_training_logs(folder: Path, log_history: list[dict]) -> None:
    """Write ``training-logs.csv`` (per-step rows) and ``training-logs.json`` (everything)."""
    training_logs_frame(log_history).to_csv(folder / "training-logs.csv", index=False)
    (folder / "training-logs.json").write_text(
        json.dumps(log_history, indent=1, default=float), encoding="utf-8"
    )


def export_model(
    model,
    tokenizer,
    output_dir: str | Path,
    name: str,
    log_history: list[dict] | None = None,
    info: dict | None = None,
) -> ExportPaths:
    """Save ``model`` and ``tokenizer`` as ``output_dir/model`` and ``output_dir/<name>-model.tar``.

    An existing ``model/`` folder is replaced, so a re-run never mixes files of two runs. Every
    file gets the modes of the umask (:func:`helpers.core.files.apply_umask`; 0o644 usually, where
    safetensors alone would leave the weights at 0o600), and so does the tarball.

    Args:
        model: A transformers model (saved with safetensors).
        tokenizer: Its tokenizer.
        output_dir: Folder to write into (created).
        name: Prefix of the tarball, usually the task name.
        log_history: ``trainer.state.log_history`` for the training logs.
        info: Extra facts saved as ``export-info.json`` (base model, task, metrics).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model_dir = output_dir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir()
    model.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    write_training_logs(model_dir, log_history or [])
    (model_dir / "export-info.json").write_text(
        json.dumps(info or {}, indent=1, default=str), encoding="utf-8"
    )
    check_export(model_dir)
    apply_umask(model_dir)
    tarball = write_tarball(model_dir, output_dir / f"{name}-model.tar")
    return ExportPaths(model_dir=model_dir, tarball=tarball)


def write_tarball(folder: str | Path, tarball: str | Path) -> Path:
    """Pack ``folder`` (under its own name) into ``tarball``, replacing it only once complete.

    The tarball gets the mode of the umask, even if a leftover partial file had another.
    """
    folder, tarball = Path(folder), Path(tarball)
    partial = tarball.with_suffix(".tar.partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(folder, arcname=folder.name)
    os.replace(apply_umask(partial), tarball)
    return tarball


def check_export(folder: str | Path) -> Path:
    """Raise :class:`ExportError` unless ``folder`` holds a loadable export; return it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(
            f"Export folder {folder} does not exist. Fix: run the training notebook's export "
            "step, or point MODEL_DIR at its OUTPUT_DIR/model folder or the .tar file."
        )
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise ExportError(
            f"Export folder {folder} is missing {', '.join(missing)}. Fix: re-run the training "
            "notebook's export step (or unpack the whole <name>-model.tar again); an export needs "
            f"{', '.join(REQUIRED_FILES)} and the tokenizer's vocabulary."
        )
    return folder


HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
"""Whether ``tarfile`` has the ``data`` extraction filter (Python >= 3.10.12 / 3.11.4, and 3.12+).

Without it a tarball is still only extracted after :func:`check_tar_members`, which refuses
everything the filter would (and links inside the folder, and absolute names, which the filter
extracts relative to it); the files are owned by the extracting user (:func:`plain_member`), and
their modes come from the umask either way (``apply_umask`` after extraction)."""
TARBALL_FIX = ("Fix: re-download the tarball (or copy it again), or re-export it with the training "
               "notebook's export step.")


def tar_member_problem(member: tarfile.TarInfo) -> str | None:
    """What makes ``member`` unfit for an export tarball (None for a plain file or folder inside it)."""
    parts = member.name.replace("\\", "/").split("/")
    if member.name.startswith(("/", "\\")) or os.path.isabs(member.name):
        return "has an absolute path"
    if ".." in parts:
        return "climbs out of the folder through '..'"
    if member.issym() or member.islnk():
        return f"is a {'symbolic' if member.issym() else 'hard'} link (to {member.linkname!r})"
    if not (member.isreg() or member.isdir()):
        return "is a device, pipe or other special file"
    return None


def check_tar_members(tar: tarfile.TarFile, tarball: str | Path) -> list[tarfile.TarInfo]:
    """The members of ``tar``, after checking that the archive is complete and every member is safe.

    Complete: tarfile alone takes a cut at a member boundary for the end of the archive, so the
    end-of-archive marker (a zero block) must follow the last member. Safe: only regular files and
    folders, with relative paths that stay inside the folder (no ``..``); no links, no devices.

    Raises:
        ExportError: the tarball is truncated, or names the first unsafe member; nothing extracted.
    """
    members = tar.getmembers()
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(tarfile.BLOCKSIZE) != tarfile.NUL * tarfile.BLOCKSIZE:
        raise ExportError(
            f"Export tarball {tarball} is truncated: it stops after {len(members)} entries without the "
            f"end-of-archive marker (an interrupted download, copy or export). Nothing was extracted. "
            f"{TARBALL_FIX}"
        )
    for member in members:
        if problem := tar_member_problem(member):
            raise ExportError(
                f"Export tarball {tarball} holds {member.name!r}, which {problem}; an export tarball holds "
                f"only plain files and folders inside its own folder, so it was refused and nothing was "
                f"extracted. {TARBALL_FIX}"
            )
    return members


def plain_member(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """A copy of a checked ``member`` to extract without the data filter: owned by whoever extracts it
    (as root, tarfile would otherwise give it the archive's owner) and without setuid/setgid/sticky bits."""
    plain = copy.copy(member)
    plain.mode &= 0o777
    if hasattr(os, "geteuid"):
        plain.uid, plain.gid, plain.uname, plain.gname = os.geteuid(), os.getegid(), "", ""
    return plain


def extract_checked(tarball: Path, folder: Path) -> None:
    """Extract ``tarball`` into the new ``folder`` after :func:`check_tar_members`.

    With tarfile's ``data`` filter where this Python has it (:data:`HAS_DATA_FILTER`), else with
    :func:`plain_member` copies of the members, which the check has already limited to plain files
    and folders inside ``folder``.
    """
    with tarfile.open(tarball) as tar:
        members = check_tar_members(tar, tarball)
        if HAS_DATA_FILTER:
            tar.extractall(folder, members=members, filter="data")
        else:
            tar.extractall(folder, members=[plain_member(m) for m in members])


def move_into_place(new: Path, target: Path, old: Path) -> None:
    """Rename each entry of ``new`` into ``target``; the entry of that name there goes to ``old``.

    All or nothing: when a rename fails, those made so far are undone and the error re-raised.
    """
    old.mkdir()
    done = []
    try:
        for entry in sorted(new.iterdir()):
            if os.path.lexists(target / entry.name):
                os.replace(target / entry.name, old / entry.name)
            done.append(entry.name)
            os.replace(entry, target / entry.name)
    except OSError:
        for name in reversed(done):
            if not (new / name).exists():
                os.replace(target / name, new / name)
            if os.path.lexists(old / name):
                os.replace(old / name, target / name)
        raise


@contextlib.contextmanager
def tarball_errors(tarball: Path, target: Path):
    """Turn what goes wrong while unpacking ``tarball`` into an :class:`ExportError` with the fix."""
    try:
        yield
    except ExportError:
        raise
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise ExportError(
            f"Export tarball {tarball} is truncated or damaged ({type(err).__name__}: {err}), so it was "
            f"not unpacked and {target} was left as it was. {TARBALL_FIX}"
        ) from err
    except OSError as err:
        raise ExportError(
            f"Export tarball {tarball} could not be unpacked into {target} ({err}); {target} was left as "
            "it was. Fix: check that the tarball exists and is readable and that the folder is writable "
            "with enough free space, then unpack again."
        ) from err


def unpack_tarball(path: str | Path, unpack_to: str | Path | None = None) -> Path:
    """Unpack an export tarball into ``unpack_to`` (a new temporary folder if None); return that folder.

    All or nothing: the tarball is extracted into a temporary folder made inside ``unpack_to`` (so
    on the same filesystem), and only once that succeeded is each of its top-level entries (the
    ``model/`` folder) renamed into place, replacing the entry of that name as a whole: no file
    of an earlier unpack survives. A truncated or damaged tarball, or one with a member that is
    not a plain file or folder inside it (:func:`check_tar_members`), is refused with an
    :class:`ExportError`, and ``unpack_to`` is left exactly as it was (not created if it was not there).
    The files unpacked get the modes of the umask (:func:`helpers.core.files.apply_umask`), whatever
    modes the tarball recorded.
    """
    path = Path(path)
    target = Path(unpack_to) if unpack_to else Path(tempfile.mkdtemp(prefix="export-"))
    created = unpack_to is None or not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".unpack-{path.name}-", dir=target))
    try:
        with tarball_errors(path, target):
            extract_checked(path, work / "new")
            apply_umask(work / "new")
            move_into_place(work / "new", target, work / "old")
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def locate_export(path: str | Path, unpack_to: str | Path | None = None) -> Path:
    """Find the model folder behind ``path``.

    ``path`` may be the ``model/`` folder itself, the ``OUTPUT_DIR`` that holds it, or a
    ``<name>-model.tar`` (unpacked into ``unpack_to``, or a temporary folder).
    """
    path = Path(path)
    if path.is_file() and tarfile.is_tarfile(path):
        return check_export(unpack_tarball(path, unpack_to) / "model")
    if path.is_dir() and not (path / "config.json").exists() and (path / "model").is_dir():
        path = path / "model"
    return check_export(path)


def load_export(path: str | Path, auto_class=None, unpack_to: str | Path | None = None,
                backend: str = "pytorch"):
    """Load an exported model and its tokenizer, on CPU, in eval mode.

    Args:
        path: See :func:`locate_export`.
        auto_class: The transformers auto class; by default
            ``AutoModelForSequenceClassification``.
        unpack_to: Where to unpack a tarball.
        backend: ``"pytorch"``, or ``"onnx"`` / ``"onnx-int8"`` / ``"onnx-int8-static"`` for the
            variant exported next to the weights (:mod:`helpers.core.onnx`), which answers the same calls.

    Returns:
        ``(model, tokenizer, folder)``.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer


    onnx.check_backend(backend)
    folder = locate_export(path, unpack_to)
    auto_class = auto_class or AutoModelForSequenceClassification
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if backend != onnx.PYTORCH:
        kind = (onnx.QUESTION_ANSWERING if "QuestionAnswering" in auto_class.__name__
                else onnx.CLASSIFIER)
        return onnx.load_onnx_model(folder, backend, kind), tokenizer, folder
    model = auto_class.from_pretrained(folder).eval()
    return model, tokenizer, folder


def read_export_info(folder: str | Path) -> dict:
    """The ``export-info.json`` written at export time (empty dict when absent)."""
    p = Path(folder) / "export-info.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def require_family(folder: str | Path, family: str, notebook: str) -> dict:
    """``export-info.json`` of ``folder``, after checking that the export belongs to ``family``.

    Every family's ``export_<family>()`` writes its name under ``"family"``; an export that names
    another family is refused with a message naming the notebook whose output is wanted. An
    export without the key (written before it existed) is accepted.

    Raises:
        ExportError: the export names another family.
    """
    info = read_export_info(folder)
    found = info.get("family")
    if found is not None and found != family:
        raise ExportError(
            f"{folder} is an export of the {found} family, not of {family}. Fix: point at the "
            f"OUTPUT_DIR (or its model folder, or the tarball) of {notebook}."
        )
    return info


def reload_difference(model, tokenizer, folder: str | Path, texts: list[str], auto_class=None) -> float:
    """Largest absolute logit difference between ``model`` and its export reloaded from disk.

    A correct export gives ~0 (float round-off); a head that was not saved, or a tokenizer
    that differs, gives a large value. The notebooks assert it is tiny before going on.
    """
    import torch

    reloaded, reloaded_tok, _ = load_export(folder, auto_class=auto_class)
    model.eval()

    def outputs(m, tok):
        # Every tensor the model returns: logits for classifiers, start/end logits for QA.
        out = m(**tok(texts, padding=True, truncation=True, return_tensors="pt"))
        return torch.cat([v.float().flatten() for v in out.values() if torch.is_tensor(v)])

    with torch.inference_mode():
        return float((outputs(model, tokenizer) - outputs(reloaded, reloaded_tok)).abs().max())
