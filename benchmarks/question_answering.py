"""Train and deploy the extractive QA notebooks; print EM/F1, wall time, latency and throughput.

Runs ``question-answering-training.ipynb`` on its default parameters (or on the QA task folders
given), then ``question-answering-deployment.ipynb`` on the export and the task's test set.

    python benchmarks/question_answering.py                       # data-hotpotqa
    python benchmarks/question_answering.py /path/to/data-my-qa   # your own folders
    python benchmarks/question_answering.py -p SYNTHETIC_EPOCHS 3 # override a parameter

Figures go to ``outputs/benchmarks/question-answering/<task>/`` and ``summary.csv`` there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from classification_tasks import parse_args, train_and_deploy


def main() -> None:
    args, extra = parse_args(__doc__, ["data-hotpotqa"], "question-answering")
    rows = []
    for folder in args.tasks:
        wall, t, d = train_and_deploy("question-answering", folder, Path(args.out) / Path(folder).name, extra)
        row = {"task": t["task"]}
        for name, r in t["results"].items():
            row[f"{name}_em"] = r["groups"]["all"]["exact_match"]
            row[f"{name}_f1"] = r["groups"]["all"]["f1"]
            if "span" in r["groups"]:
                row[f"{name}_span_f1"] = r["groups"]["span"]["f1"]
        row |= {"train_wall_s": round(wall, 1), "p50_ms": round(d["latency"]["p50_ms"], 1),
                "p95_ms": round(d["latency"]["p95_ms"], 1),
                "questions_per_s": round(d["throughput"]["texts_per_second"], 1),
                "train_peak_mb": t["peak_memory_mb"], "deploy_peak_mb": d["peak_memory_mb"]}
        rows.append(row)
        print(pd.DataFrame([row]).round(1).T.to_string(header=False), flush=True)
    table = pd.DataFrame(rows).round(2)
    table.to_csv(Path(args.out) / "summary.csv", index=False)
    print("\n" + table.T.to_string(header=False))


if __name__ == "__main__":
    main()
