"""Set-up shared by every notebook: quiet, papermill-friendly output and a versions line."""

from __future__ import annotations

import os
import warnings


def setup_notebook() -> str:
    """Prepare a notebook session and return a line naming the versions and hardware.

    - tokenizers' thread pool is switched off before any fork (it warns under papermill);
    - tqdm's "IProgress not found" warning (no ipywidgets) is silenced;
    - transformers logs errors only: loading a checkpoint with a *new* head prints a
      "MISSING weights" report that is expected here and would drown the real output;
      its weight-loading progress bars are switched off too;
    - pandas shows wider text columns, so texts in tables can be read.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", message="IProgress not found")
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
