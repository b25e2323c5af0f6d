"""What every notebook shares: set-up (quiet, papermill-friendly output and a versions line), the run
record that becomes ``metrics.json``, and headless execution with papermill."""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

from helpers.core.evaluation import plain
from helpers.core.timing import peak_memory_mb

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
"""The project's notebooks folder (``helpers`` is installed editable from the checkout)."""


def setup_notebook() -> str:
    """Prepare a notebook session and return a line naming the versions and hardware.

    - tokenizers' thread pool is switched off before any fork (it warns under papermill);
    - tqdm progress bars are switched off (``TQDM_DISABLE``) before any library imports tqdm;
    - tqdm's "IProgress not found" warning (no ipywidgets) and a deprecation warning peft
      triggers inside transformers are silenced;
    - transformers logs errors only: loading a checkpoint with a *new* head prints a
      "MISSING weights" report that is expected here and would drown the real output;
      its weight-loading progress bars are switched off too;
    - pandas shows wider text columns, so texts in tables can be read.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Progress bars do not render under papermill (sentence-transformers draws one per run).
    os.environ.setdefault("TQDM_DISABLE", "1")
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft (0.17-0.21) still calls this transformers 5 deprecation on every LoRA run.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*deprecated",
                            category=FutureWarning)
    import pandas as pd
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    pd.set_option("display.max_colwidth", 120)
    return (
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{torch.get_num_threads()} CPU threads, CUDA available: {torch.cuda.is_available()}"
    )


def execute_notebook(name: str, output_path: str | Path, parameters: dict,
                     timeout: int | None = None) -> float:
    """Run ``notebooks/<name>`` headlessly with papermill, as the README's script does.

    The kernel is named explicitly (``python3``) so a notebook's stored kernelspec cannot break
    the run, and the working directory is the notebooks folder, so the notebooks' relative
    defaults (``DATA_DIR="../data-banking-routing"``) hold.

    Args:
        name: File name in ``notebooks/`` (``.ipynb`` may be left out).
        output_path: Where the executed notebook is written.
        parameters: Values for the ``parameters`` cell.
        timeout: Seconds a cell may take (``None``: no limit).

    Returns:
        The wall time in seconds.

    Raises:
        papermill.PapermillExecutionError: a cell failed; the message holds its traceback.
    """
    import papermill

    name = name if name.endswith(".ipynb") else f"{name}.ipynb"
    start = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(output_path), parameters=parameters, kernel_name="python3",
        cwd=str(NOTEBOOKS), execution_timeout=timeout, progress_bar=False,
    )
    return time.perf_counter() - start


class RunRecord:
    """What a notebook run measured, filled where each value is computed and saved once as ``metrics.json``.

    Each notebook makes one after its parameters, adds values in the cell that computes them, and
    saves it in its last cell; the tests and the benchmarks read the file. Every record holds the
    ``notebook`` name, the timings of its stages under ``seconds`` (pass :attr:`seconds` to
    :func:`helpers.core.timing.stage`) and the process's ``peak_memory_mb`` at the end.

    Args:
        output_dir: The run's ``OUTPUT_DIR``; the record goes to ``output_dir/metrics.json``.
        notebook: The notebook's name, e.g. ``"classification-training"``.
        **values: First values (the parameters worth keeping beside the results).

    Example::

        record = RunRecord(output_dir, "classification-training", model=MODEL)
        with stage("teacher", record.seconds):
            ...
        record.add(results={"teacher": evaluation})  # an Evaluation is stored as its as_dict()
        record.save()
    """

    def __init__(self, output_dir: str | Path, notebook: str, **values):
        self.path = Path(output_dir) / "metrics.json"
        self.values: dict = {"notebook": notebook}
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()
        self.add(**values)

    def elapsed(self) -> float:
        """Seconds since the record was made (a notebook makes it right after its parameters)."""
        return time.perf_counter() - self.started

    def add(self, **values) -> None:
        """Record ``values`` (JSON-ready after :func:`helpers.core.evaluation.plain`: evaluations,
        tables, paths and NumPy numbers are converted); a dict merges into a dict already there."""
        for key, value in plain(values).items():
            if isinstance(value, dict) and isinstance(self.values.get(key), dict):
                self.values[key] = {**self.values[key], **value}
            else:
                self.values[key] = value

    def __getitem__(self, key: str):
        return self.values[key]

    def save(self) -> dict:
        """Write ``metrics.json`` (with ``seconds`` and ``peak_memory_mb``) and return what was written."""
        record = {**self.values, "seconds": plain(self.seconds), "peak_memory_mb": round(peak_memory_mb())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(record, indent=1), encoding="utf-8")
        return record

