"""Train and deploy the generative QA notebooks; print EM/F1/ROUGE-L, wall time and generation speed.

Runs ``generative-qa-training.ipynb`` on its default parameters (SmolLM2-135M-Instruct with LoRA,
or on the QA task folders given), then ``generative-qa-deployment.ipynb`` on the export and the
task's test set.

    python benchmarks/generative_qa.py                        # data-hotpotqa
    python benchmarks/generative_qa.py /path/to/data-my-qa    # your own folders
    python benchmarks/generative_qa.py -p MAX_STEPS 80        # override a parameter

Figures go to ``outputs/benchmarks/generative-qa/<task>/`` and ``summary.csv`` there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from classification_tasks import parse_args, train_and_deploy


def main() -> None:
    args, extra = parse_args(__doc__, ["data-hotpotqa"], "generative-qa")
    rows = []
    for folder in args.tasks:
        wall, t, d = train_and_deploy("generative-qa", folder, Path(args.out) / Path(folder).name, extra)
        row = {"task": t["task"]}
        for name, short in (("untuned (zero-shot)", "untuned"), ("LoRA-tuned", "tuned")):
            for metric in ("exact_match", "f1", "rouge_l", "answer_words"):
                row[f"{short}_{metric}"] = t["results"][name]["scores"][metric]
        row |= {"train_wall_s": round(wall, 1), "train_s": round(t["seconds"]["train"], 1),
                "first_token_ms_p50": round(d["speed"]["first_token_ms_p50"]),
                "tokens_per_s": round(d["speed"]["tokens_per_s"], 1),
                "questions_per_s_batched": round(d["throughput"]["texts_per_second"], 2),
                "train_peak_mb": t["peak_memory_mb"], "deploy_peak_mb": d["peak_memory_mb"]}
        rows.append(row)
        print(pd.DataFrame([row]).round(2).T.to_string(header=False), flush=True)
    table = pd.DataFrame(rows).round(2)
    table.to_csv(Path(args.out) / "summary.csv", index=False)
    print("\n" + table.T.to_string(header=False))


if __name__ == "__main__":
    main()
