"""Train and deploy on every classification task folder; print quality and speed figures.

Runs ``classification-training.ipynb`` on its default parameters for each task folder given
(all ``data-*`` classification folders by default), then ``classification-deployment.ipynb`` on
the exported model and the task's test set, and prints one table: teacher, labelled-only and
distilled accuracy / macro-F1, training notebook wall time, deployment latency and throughput.

    python benchmarks/classification_tasks.py                      # the four example tasks
    python benchmarks/classification_tasks.py /path/to/data-mine   # your own folders
    python benchmarks/classification_tasks.py -p EPOCHS 5          # override a parameter

Figures go to ``outputs/benchmarks/classification/<task>/`` and ``summary.csv`` there.
The target the project holds itself to: the distilled student at or above the teacher on
every task, and the training notebook under 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pandas as pd

from helpers.core.notebook import execute_notebook

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TASKS = ["data-banking-routing", "data-ecommerce", "data-mental-health", "data-injury"]


def parse_args(doc: str, default_tasks: list[str], family: str):
    """Command line shared by the benchmarks: task folders, ``-p NAME VALUE``, ``--out``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", default=default_tasks, help="task folders")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a training-notebook parameter (value parsed as JSON if it can be)")
    parser.add_argument("--out", default=str(REPO / "outputs" / "benchmarks" / family))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    extra = {}
    for key, value in args.p:
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    return args, extra


def train_and_deploy(family: str, folder: str, out_root: Path, extra: dict) -> tuple[float, dict, dict]:
    """Run ``<family>-training`` on a task folder, then ``<family>-deployment`` on its export
    and test set; returns the training wall time and both ``metrics.json``."""
    data_dir = Path(folder) if Path(folder).is_absolute() else REPO / folder
    out = out_root / data_dir.name
    out.mkdir(parents=True, exist_ok=True)
    wall = execute_notebook(f"{family}-training", out / f"{family}-training.ipynb",
                            {"DATA_DIR": str(data_dir), "OUTPUT_DIR": str(out / "training"), **extra})
    execute_notebook(f"{family}-deployment", out / f"{family}-deployment.ipynb",
        {"MODEL_DIR": str(out / "training" / "model"), "DATA_DIR": str(data_dir),
         "OUTPUT_DIR": str(out / "deployment")})
    read = lambda p: json.loads(p.read_text())  # noqa: E731
    return wall, read(out / "training" / "metrics.json"), read(out / "deployment" / "metrics.json")


def main() -> None:
    args, extra = parse_args(__doc__, DEFAULT_TASKS, "classification")
    rows = []
    for folder in args.tasks:
        wall, t, d = train_and_deploy("classification", folder, Path(args.out), extra)
        r = {name: result["scores"] for name, result in t["results"].items()}
        rows.append({
            "task": t["task"],
            "teacher_acc": r["teacher"]["accuracy"], "labelled_acc": r["student-labelled"]["accuracy"],
            "distilled_acc": r["student-distilled"]["accuracy"],
            "teacher_f1": r["teacher"]["macro_f1"], "labelled_f1": r["student-labelled"]["macro_f1"],
            "distilled_f1": r["student-distilled"]["macro_f1"],
            "train_wall_s": round(wall, 1),
            "p50_ms": round(d["latency"]["p50_ms"], 1), "p95_ms": round(d["latency"]["p95_ms"], 1),
            "texts_per_s": round(d["throughput"]["texts_per_second"], 1),
            "train_peak_mb": t["peak_memory_mb"], "deploy_peak_mb": d["peak_memory_mb"],
        })
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)

    table = pd.DataFrame(rows).round(3)
    table.to_csv(Path(args.out) / "summary.csv", index=False)
    print("\n" + table.to_string(index=False))
    print(f"\ndistilled >= teacher on every task: "
          f"{bool((table['distilled_acc'] >= table['teacher_acc']).all())}; "
          f"slowest training run: {table['train_wall_s'].max():.0f} s")


if __name__ == "__main__":
    main()
