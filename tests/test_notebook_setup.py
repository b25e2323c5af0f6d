"""The notebooks' shared set-up."""

from __future__ import annotations

import pandas as pd
import transformers

from helpers.core.notebook import setup_notebook


def test_setup_notebook_quiets_transformers_and_reports_versions():
    before = transformers.logging.get_verbosity(), pd.get_option("display.max_colwidth")
    try:
        line = setup_notebook()
        assert transformers.__version__ in line and "CPU threads" in line
        assert transformers.logging.get_verbosity() == transformers.logging.ERROR
        assert not transformers.utils.logging.is_progress_bar_enabled()
        assert pd.get_option("display.max_colwidth") == 120
    finally:
        transformers.logging.set_verbosity(before[0])
        transformers.logging.enable_progress_bar()
        pd.set_option("display.max_colwidth", before[1])
