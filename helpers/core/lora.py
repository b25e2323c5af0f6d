"""LoRA adapters through ``peft``: add them, count what trains, merge them for export.

LoRA (Hu et al. 2021) freezes the pretrained weights and learns a low-rank update ``B @ A``
(rank ``r``, scaled by ``alpha / r``) beside each targeted linear layer, so only a few percent
of the parameters train and the optimiser state stays small. After training, the update is
added into the weights (:func:`merge_lora`): the export is a plain model that loads without
``peft`` and runs exactly as fast as the original.

QLoRA (Dettmers et al. 2023) also stores the frozen weights in 4 bits; that needs a CUDA GPU
and ``bitsandbytes``. :func:`qlora_support` says whether this machine has both; the notebooks
go on with plain LoRA when it does not.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, field


@dataclass
class LoraSettings:
    """The adapter's shape (the notebooks' ``LORA_*`` parameters map onto these).

    ``target_modules`` is ``"all-linear"`` (every linear layer but the output head, peft's
    shortcut) or a list of module names such as ``["q_proj", "v_proj"]`` (the original paper's
    choice, fewer parameters, a little less capacity).
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = field(default="all-linear")

    def as_dict(self) -> dict:
        return asdict(self)


def _require_peft():
    if importlib.util.find_spec("peft") is None:
        raise ImportError("LoRA needs the peft package. Fix: pip install peft")
    import peft

    return peft


def apply_lora(model, settings: LoraSettings, kind: str = "decoder"):
    """Wrap ``model`` in a peft model whose only trainable weights are the LoRA adapters.

    Args:
        model: A causal LM (``kind="decoder"``) or an encoder-decoder model.
        settings: Rank, alpha, dropout and target modules.
        kind: ``"decoder"`` or ``"encoder-decoder"`` (peft's task type).

    Raises:
        ValueError: If the rank or alpha is not positive, or no module matches
            ``target_modules`` (the message lists the model's linear layers to choose from).
    """
    peft = _require_peft()
    if settings.rank < 1 or settings.alpha <= 0:
        raise ValueError(
            f"LORA_RANK must be >= 1 and LORA_ALPHA > 0, got {settings.rank} and {settings.alpha}")
    task_type = peft.TaskType.SEQ_2_SEQ_LM if kind == "encoder-decoder" else peft.TaskType.CAUSAL_LM
    targets = settings.target_modules
    config = peft.LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
        target_modules=targets if isinstance(targets, str) else list(targets), task_type=task_type,
    )
    try:
        return peft.get_peft_model(model, config)
    except ValueError as err:
        if "not found in the base model" not in str(err) and "Target modules" not in str(err):
            raise
        names = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                        if type(module).__name__ == "Linear"})
        raise ValueError(
            f"LORA_TARGET_MODULES={targets!r} matches no layer of this model. Its linear layers are "
            f"named {names}. Fix: choose among those, or use 'all-linear'."
        ) from err


def trainable_parameters(model) -> dict:
    """``{"trainable", "total", "share"}``: parameters the optimiser updates, of all of them."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": int(trainable), "total": int(total), "share": trainable / total if total else 0.0}


def merge_lora(model):
    """The plain model with the adapters added into its weights (a model without adapters is returned as is).

    The merged model has the base model's class and parameter names, so ``save_pretrained``
    writes a folder that loads with ``AutoModelForCausalLM`` alone.
    """
    if not hasattr(model, "merge_and_unload"):
        return model
    merged = model.merge_and_unload()
    merged.eval()
    return merged


def qlora_support() -> tuple[bool, str]:
    """Whether 4-bit QLoRA can run here, and a sentence saying why (not).

    It needs a CUDA GPU (bitsandbytes' 4-bit kernels are CUDA-only) and the ``bitsandbytes``
    package; on a CPU-only machine the model trains in full precision with plain LoRA.
    """
    import torch

    if not torch.cuda.is_available():
        return False, ("LOAD_IN_4BIT (QLoRA) needs a CUDA GPU and this machine has none: the model is "
                       "loaded in full precision and trained with plain LoRA instead.")
    if importlib.util.find_spec("bitsandbytes") is None:
        return False, ("LOAD_IN_4BIT (QLoRA) needs the bitsandbytes package, which is not installed: "
                       "the model is loaded in full precision and trained with plain LoRA instead. "
                       "Fix: pip install bitsandbytes")
    return True, "QLoRA: frozen weights in 4-bit NF4 (bitsandbytes), LoRA adapters trained in bfloat16."


def quantization_config():
    """The 4-bit NF4 ``BitsAndBytesConfig`` QLoRA loads the base model with (only when supported)."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def merge_onto_full_precision(model, load_base):
    """Merge a QLoRA-trained model's adapters into a freshly loaded full-precision base.

    Adding a LoRA update into 4-bit weights would round it away; instead the adapters are saved,
    ``load_base()`` builds the base model in full precision, and they are merged into it.
    """
    import tempfile

    peft = _require_peft()
    with tempfile.TemporaryDirectory(prefix="adapter-") as folder:
        model.save_pretrained(folder)
        full = peft.PeftModel.from_pretrained(load_base(), folder)
        return merge_lora(full)
