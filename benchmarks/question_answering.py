"""Train and deploy the extractive QA notebooks; print EM/F1, wall time, latency and throughput.

Runs ``question-answering-training.ipynb`` on its default parameters (or on the QA task folders
given), then ``question-answering-deployment.ipynb`` on the export and the task's test set.

    python benchmarks/question_answering.py                       # data-hotpotqa
    python benchmarks/question_answering.py /path/to/data-my-qa   # your own folders
    python benchmarks/question_answering.py -p SYNTHETIC_EPOCHS 3 # override a parameter

Figures go to ``outputs/benchmarks/question-answering/<task>/`` and ``summary.csv`` there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from classification_tasks import REPO, parse_args, run


def main() -> None:
    args, extra = parse_args(__doc__, ["data-hotpotqa"], "question-answering")
    rows = []
    for folder in args.tasks:
        data_dir = Path(folder) if Path(folder).is_absolute() else REPO / folder
        out = Path(args.out) / data_dir.name
        out.mkdir(parents=True, exist_ok=True)
        wall = run("question-answering-training", out,
                   {"DATA_DIR": str(data_dir), "OUTPUT_DIR": str(out / "training"), **extra})
        run("question-answering-deployment", out,
            {"MODEL_DIR": str(out / "training" / "model"), "INPUT_CSV": str(data_dir / "test.csv"),
             "OUTPUT_DIR": str(out / "deployment")})
        t = json.loads((out / "training" / "metrics.json").read_text())
        d = json.loads((out / "deployment" / "metrics.json").read_text())
        row = {"task": t["task"]}
        for name, r in t["results"].items():
            row[f"{name}_em"] = r["all"]["exact_match"]
            row[f"{name}_f1"] = r["all"]["f1"]
            if "span" in r:
                row[f"{name}_span_f1"] = r["span"]["f1"]
        row |= {"train_wall_s": round(wall, 1), "p50_ms": round(d["latency"]["p50_ms"], 1),
                "p95_ms": round(d["latency"]["p95_ms"], 1),
                "questions_per_s": round(d["throughput"]["texts_per_second"], 1)}
        rows.append(row)
        print(pd.DataFrame([row]).round(1).T.to_string(header=False), flush=True)
    table = pd.DataFrame(rows).round(2)
    table.to_csv(Path(args.out) / "summary.csv", index=False)
    print("\n" + table.T.to_string(header=False))


if __name__ == "__main__":
    main()
