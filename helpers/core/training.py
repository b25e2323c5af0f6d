"""Fine-tuning with the transformers ``Trainer``, shared by every task family.

One place decides how long a run is (:func:`planned_steps`), how it reports progress under
papermill (a short line about ten times per run, no progress bars) and which ``Trainer``
settings hold everywhere (no checkpoints, seeded data order, ``report_to`` passed through).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

# Batching for inference moved to helpers.core.prediction (shared with serving); the old names still work.
from helpers.core.prediction import MODEL_INPUTS as MODEL_INPUTS
from helpers.core.prediction import length_sorted_batches as length_sorted_batches


@dataclass
class TrainConfig:
    """Hyper-parameters of a student run (the notebooks' parameters map onto these).

    ``epochs`` passes over the data, but never fewer than ``min_steps`` optimiser steps:
    a few dozen labelled examples make only a handful of batches per epoch, too few
    updates for a new classification head, while a large set is not slowed down by it.
    ``max_steps > 0`` caps the steps (a time budget for large folders on a CPU).
    """

    epochs: float = 10.0
    min_steps: int = 0
    learning_rate: float = 1e-4
    batch_size: int = 16
    max_length: int = 256
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 42
    report_to: str = "none"
    max_steps: int = -1
    logging_steps: int = 1
    run_name: str | None = None
    group_by_length: bool = False


def planned_steps(n_examples: int, config: TrainConfig) -> int:
    """Optimiser steps a run of ``n_examples`` texts takes under ``config``.

    ``max(ceil(batches per epoch * epochs), min_steps)``, capped at ``max_steps`` if that
    is positive; at least one step.
    """
    per_epoch = math.ceil(n_examples / config.batch_size)
    steps = max(math.ceil(per_epoch * config.epochs), int(config.min_steps), 1)
    return min(steps, int(config.max_steps)) if config.max_steps > 0 else steps


class ProgressPrinter:
    """Prints a short line about ten times per run instead of a progress bar (papermill-friendly)."""

    def __new__(cls, total_steps: int):
        from transformers import TrainerCallback

        every = max(1, math.ceil(total_steps / 10))

        class Printer(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "loss" in logs and (
                    state.global_step % every == 0 or state.global_step == state.max_steps
                ):
                    print(
                        f"  step {state.global_step:>4}/{state.max_steps}"
                        f"  epoch {logs.get('epoch', 0):5.2f}  loss {logs['loss']:.4f}",
                        flush=True,
                    )

        return Printer()


class Deadline:
    """Stops a run once ``seconds`` of wall time have passed since it began (checked after every
    optimiser step, so a run always takes at least one). A time budget plans steps from a measured
    step cost; this holds the plan to its time when the steps turn out slower than measured (a
    loaded machine, longer batches than the timed ones). ``stopped_at`` is the step it stopped
    at, None if the run finished its steps."""

    def __new__(cls, seconds: float):
        import time

        from transformers import TrainerCallback

        class DeadlineCallback(TrainerCallback):
            def __init__(self):
                self.seconds, self.start, self.stopped_at = float(seconds), None, None

            def on_train_begin(self, args, state, control, **kwargs):
                self.start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                if (state.global_step < state.max_steps
                        and time.perf_counter() - self.start >= self.seconds):
                    control.should_training_stop = True
                    self.stopped_at = state.global_step
                    print(f"  stopped at step {state.global_step}/{state.max_steps}: its "
                          f"{self.seconds:.0f} s of the time budget are spent", flush=True)

        return DeadlineCallback()


class FeatureDataset:
    """Tokenised examples held as parallel lists (``{"input_ids": [...], "labels": [...]}``).

    Item ``i`` is ``{key: features[key][i]}`` for the ``keys`` present in ``features``, so
    one class serves every family: classification labels, QA start/end positions, ...
    """

    def __init__(self, features: dict, keys):
        self.keys = [k for k in keys if k in features]
        self.features = {k: features[k] for k in self.keys}
        lengths = {len(v) for v in self.features.values()}
        if len(lengths) != 1:
            sizes = {k: len(v) for k, v in self.features.items()}
            raise ValueError(f"feature lists differ in length: {sizes}")

    def __len__(self) -> int:
        return len(self.features[self.keys[0]])

    def __getitem__(self, i: int) -> dict:
        return {k: self.features[k][i] for k in self.keys}


def trainer_settings(config: TrainConfig, total_steps: int, output_dir: str | Path | None = None) -> dict:
    """The ``TrainingArguments`` every family uses (sentence-transformers' arguments take them too).

    ``total_steps`` optimiser steps, linear schedule with warm-up, a log record every
    ``logging_steps``, no checkpoints, seeded data order, no progress bars, ``report_to`` from
    the config; the scratch folder is temporary unless ``output_dir`` is given.
    """
    return {
        "output_dir": str(output_dir or tempfile.mkdtemp(prefix="trainer-")),
        "max_steps": total_steps,
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "weight_decay": config.weight_decay,
        "warmup_steps": int(round(config.warmup_ratio * total_steps)),
        "lr_scheduler_type": "linear",
        "logging_strategy": "steps",
        "logging_steps": config.logging_steps,
        "save_strategy": "no",
        "report_to": config.report_to,
        "run_name": config.run_name,
        # Batches of texts of similar length (shuffled in groups): less padding, the same data.
        "train_sampling_strategy": "group_by_length" if config.group_by_length else "random",
        "seed": config.seed,
        "data_seed": config.seed,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
    }


def run_trainer(model, tokenizer, dataset, config: TrainConfig, collator,
                output_dir: str | Path | None = None, time_limit: float | None = None) -> list[dict]:
    """Train ``model`` in place on a ready ``dataset``; returns ``trainer.state.log_history``.

    Args:
        model: A transformers model whose forward pass returns a loss for the dataset's items.
        tokenizer: Saved with the Trainer state (``processing_class``).
        dataset: A torch dataset of tokenised items with their labels.
        config: Hyper-parameters; the run takes :func:`planned_steps` steps.
        collator: Pads each batch (dynamic padding).
        output_dir: Trainer scratch folder (a temporary folder by default); nothing is saved.
        time_limit: Seconds of wall time after which the run stops at the end of its current step
            (:class:`Deadline`); None: no limit.
    """
    from transformers import PrinterCallback, Trainer, TrainingArguments

    total = planned_steps(len(dataset), config)
    print(
        f"Training on {len(dataset)} examples for {total} steps "
        f"({total * config.batch_size / len(dataset):.1f} epochs, batch {config.batch_size})",
        flush=True,
    )
    args = TrainingArguments(**trainer_settings(config, total, output_dir))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[ProgressPrinter(total)] + ([Deadline(time_limit)] if time_limit is not None else []),
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    return list(trainer.state.log_history)


def with_steps(config: TrainConfig, steps: int) -> TrainConfig:
    """``config`` with exactly ``steps`` optimiser steps (what a time budget planned)."""
    from dataclasses import replace

    return replace(config, min_steps=int(steps), max_steps=int(steps))


def config_dict(config: TrainConfig) -> dict:
    """``TrainConfig`` as a plain dict (for ``export-info.json`` and ``metrics.json``)."""
    return asdict(config)


def chain_histories(*histories: list[dict]) -> list[dict]:
    """Join the log histories of consecutive training stages into one, steps counted on.

    Each record gets a ``stage`` (0, 1, ...); its ``step`` continues from the previous stage's
    last step, so a loss curve and ``training-logs.csv`` show the stages one after another.
    """
    joined: list[dict] = []
    offset = 0
    for stage, history in enumerate(histories):
        last = 0
        for record in history:
            step = int(record.get("step", 0))
            joined.append({**record, "step": step + offset, "stage": stage})
            last = max(last, step)
        offset += last
    return joined
