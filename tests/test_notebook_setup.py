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


def test_run_record_keeps_what_each_cell_adds_and_saves_it_once(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    from helpers.core.evaluation import Evaluation
    from helpers.core.notebook import RunRecord
    from helpers.core.timing import stage

    record = RunRecord(tmp_path / "out", "classification-training", model="m")
    record.add(examples={"train": np.int64(12)}, model_dir=tmp_path / "out" / "model")
    record.add(examples={"test": 6})  # a dict merges into the dict already there
    with stage("teacher", record.seconds):
        pass
    evaluation = Evaluation(scores={"accuracy": np.float32(0.5)}, predictions=pd.DataFrame({"x": [1, 2]}),
                            groups={"a": {"f1": 0.25}})
    record.add(results={"teacher": evaluation}, variants=pd.DataFrame({"backend": ["onnx"], "mb": [1.5]}))
    assert not (tmp_path / "out" / "metrics.json").exists()  # nothing is written before save()
    saved = record.save()
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == saved
    assert saved["notebook"] == "classification-training" and saved["model"] == "m"
    assert saved["examples"] == {"train": 12, "test": 6}
    assert saved["model_dir"] == str(tmp_path / "out" / "model")
    teacher = {"scores": {"accuracy": 0.5}, "groups": {"a": {"f1": 0.25}}, "n": 2}
    assert saved["results"] == {"teacher": teacher}
    assert saved["variants"] == [{"backend": "onnx", "mb": 1.5}]
    assert list(saved["seconds"]) == ["teacher"] and saved["peak_memory_mb"] > 50


def test_notebooks_folder_is_the_projects():
    from helpers.core.notebook import NOTEBOOKS

    assert (NOTEBOOKS / "classification-training.ipynb").is_file()
