"""Generative question answering: prompts, training examples and batched greedy generation.

The contract (the README's "How generative question answering works"): the prompt is the model's
chat template with the task description as the system message and the context plus question as the
user message, ending in the generation prompt; the target is the answer followed by the end-of-turn
token the template writes after an assistant message. Labels are -100 over the prompt tokens *by
position*, because SmolLM2's pad id equals its end-of-turn id and masking by id would also hide the
token that teaches it to stop.

Prompts are strings that already carry their special tokens (the chat template writes them), so
they are always tokenised with ``add_special_tokens=False``.

Encoder-decoder models (T5, BART, LED) read the prompt with their encoder and write the answer
with their decoder: their prompt is always the plain format below (their tokenizers carry no chat
template), encoded with the tokenizer's own special tokens, and the target is the answer followed
by the eos token. ``kind`` (``"decoder"`` or ``"encoder-decoder"``, from
:func:`check_generative_model`) selects the format everywhere.

A tokenizer without a chat template gets this plain format, and its eos token ends the answer::

    ### Task
    {task_description}
    ### Context
    {context}
    ### Question
    {question}
    ### Answer
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from helpers.core import lora
from helpers.core.evaluation import Evaluation
from helpers.core.export import ExportError, export_model, locate_export, require_family
from helpers.core.metrics import exact_match, normalize_answer, rouge_l, token_f1
from helpers.core.models import describe_failure, load_pretrained, load_tokenizer, resolve_model
from helpers.core.streaming import StreamedCsv
from helpers.core.tasks import gold_answers
from helpers.core.training import run_trainer

__all__ = [
    "IGNORE_INDEX", "PLAIN_FORMAT", "GENERATIVE_EXAMPLES", "DECODER", "ENCODER_DECODER", "KINDS",
    "encode_prompt", "truncate_context", "build_prompt", "end_of_turn_id", "answer_token_ids",
    "build_training_example", "answer_lengths", "filter_by_answer_length", "collate_for_training",
    "stop_ids", "decode_until_stop", "model_kind", "generate_answers", "StreamResult", "stream_answer",
    "check_generative_model", "load_generative_model", "is_quantized", "merge_adapters", "build_prompts",
    "build_training_examples", "context_lengths", "answers_cut_off", "length_report", "train_generative",
    "score_predictions", "evaluate_generative", "summarize_scores", "SCORE_COLUMNS", "scored_evaluation",
    "FAMILY", "SETTINGS_KEY", "generative_settings", "set_generation_config", "export_difference",
    "GenerativeAnswerer", "generation_speed", "export_generative_qa"
]

IGNORE_INDEX = -100
"""Label value the loss ignores (``torch.nn.CrossEntropyLoss``'s default ``ignore_index``)."""

PLAIN_FORMAT = "### Task\n{task}\n### Context\n{context}\n### Question\n{question}\n### Answer\n"
"""Prompt format for tokenizers without a chat template."""

GENERATIVE_EXAMPLES = (
    "HuggingFaceTB/SmolLM2-135M-Instruct, Qwen/Qwen2.5-0.5B-Instruct or google/flan-t5-small"
)


def _has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


DECODER, ENCODER_DECODER = "decoder", "encoder-decoder"
KINDS = (DECODER, ENCODER_DECODER)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_prompt(tokenizer, prompt: str, kind: str = DECODER) -> list[int]:
    """Token ids of a prompt as the model reads it.

    A decoder's prompt already carries the chat template's special tokens, so none are added;
    an encoder-decoder's plain prompt gets the tokenizer's own (T5's ``</s>``, BART's ``<s>``...).
    """
    if _check_kind(kind) == ENCODER_DECODER:
        return list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    return _encode(tokenizer, prompt)


def _messages(task_description: str, user: str, with_system: bool) -> list[dict]:
    if with_system:
        return [{"role": "system", "content": task_description}, {"role": "user", "content": user}]
    # Some templates (e.g. Gemma's) reject a system role; the task then leads the user turn.
    return [{"role": "user", "content": f"{task_description}\n\n{user}"}]


def _render(tokenizer, messages_for, add_generation_prompt: bool) -> str:
    """Render ``messages_for(with_system)`` with the chat template, without a system role if refused."""
    from jinja2.exceptions import TemplateError

    try:
        return tokenizer.apply_chat_template(
            messages_for(True), tokenize=False, add_generation_prompt=add_generation_prompt
        )
    except TemplateError:
        return tokenizer.apply_chat_template(
            messages_for(False), tokenize=False, add_generation_prompt=add_generation_prompt
        )


def _pad_id(tokenizer) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise ValueError("The tokenizer has neither a pad token nor an eos token to pad with.")
    return int(pad)


def truncate_context(tokenizer, context: str, max_context_tokens: int | None) -> str:
    """The start of ``context`` that fits in ``max_context_tokens`` tokens (all of it if None).

    With a fast tokenizer the cut is made in the original text at the end of the last kept
    token (so spacing and accents survive); otherwise the kept tokens are decoded.
    """
    if max_context_tokens is None:
        return context
    if max_context_tokens < 0:
        raise ValueError(f"max_context_tokens must be >= 0 or None, got {max_context_tokens}")
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= max_context_tokens:
            return context
        return context[: offsets[max_context_tokens - 1][1]] if max_context_tokens else ""
    ids = _encode(tokenizer, context)
    if len(ids) <= max_context_tokens:
        return context
    return tokenizer.decode(ids[:max_context_tokens])


def build_prompt(tokenizer, task_description: str, context: str, question: str,
                 max_context_tokens: int | None = None, kind: str = DECODER) -> str:
    """The prompt for one question, ending where the model should start answering.

    Args:
        tokenizer: The model's tokenizer; its chat template is used when it has one, else the
            plain :data:`PLAIN_FORMAT`.
        task_description: What the model is asked to do (the system message).
        context: The passage the answer comes from (start of the user message).
        question: The question (end of the user message).
        max_context_tokens: Keep only the first this many tokens of the context (None: all).
            Only the context is ever shortened.
        kind: ``"decoder"`` (chat template when there is one) or ``"encoder-decoder"`` (always
            the plain format).

    Returns:
        The prompt text, special tokens included, ending in the generation prompt.
    """
    context = truncate_context(tokenizer, context, max_context_tokens)
    if _check_kind(kind) == ENCODER_DECODER or not _has_chat_template(tokenizer):
        return PLAIN_FORMAT.format(task=task_description, context=context, question=question)
    user = f"Context:\n{context}\n\nQuestion: {question}"
    return _render(tokenizer, lambda system: _messages(task_description, user, system), True)


def end_of_turn_id(tokenizer, kind: str = DECODER) -> int:
    """The token that ends an assistant answer: the one the chat template writes after it.

    It is found by rendering a conversation with and without an assistant turn and taking the
    first non-blank token after the answer (``<|im_end|>`` for SmolLM2, ``<|eot_id|>`` for
    Llama 3), so no template's token is hard-coded. Without a chat template (or when the
    template writes nothing after the answer) it is the eos token, as it is for an
    encoder-decoder model (``kind="encoder-decoder"``).

    Raises:
        ValueError: If the tokenizer has no chat template and no eos token, or the template
            does not render the assistant turn after the generation prompt.
    """
    if _check_kind(kind) == DECODER and _has_chat_template(tokenizer):
        marker = "ANSWER-MARKER-8d1f"
        base = lambda system: _messages("Task.", "Question?", system)  # noqa: E731
        prefix = _render(tokenizer, base, True)
        full = _render(tokenizer, lambda system: [*base(system), {"role": "assistant", "content": marker}],
                       False)
        if not full.startswith(prefix) or marker not in full[len(prefix):]:
            raise ValueError(
                "The chat template does not render an assistant answer right after the generation "
                "prompt, so the answer's end-of-turn token cannot be derived. Fix: use a model "
                "whose template does (most instruct models), or remove the template for the plain format."
            )
        after = full[full.index(marker, len(prefix)) + len(marker):]
        for token_id in _encode(tokenizer, after):
            # A template may put a newline before its end-of-turn token; that is not the stop.
            if tokenizer.decode([token_id]).strip():
                return int(token_id)
    if tokenizer.eos_token_id is None:
        raise ValueError(
            "The tokenizer has no chat template and no eos token, so an answer cannot be ended. "
            "Fix: use a model with a chat template or an eos token."
        )
    return int(tokenizer.eos_token_id)


def answer_token_ids(tokenizer, answer: str, kind: str = DECODER) -> list[int]:
    """The target tokens of ``answer``: its tokens followed by :func:`end_of_turn_id`."""
    return _encode(tokenizer, answer) + [end_of_turn_id(tokenizer, kind)]


def build_training_example(tokenizer, prompt: str, answer: str, kind: str = DECODER) -> dict:
    """One training example: prompt then target, with the loss on the target only.

    Args:
        tokenizer: The model's tokenizer.
        prompt: A prompt from :func:`build_prompt`.
        answer: The gold answer (never truncated).
        kind: ``"decoder"`` or ``"encoder-decoder"``.

    Returns:
        ``{"input_ids", "attention_mask", "labels"}`` as lists. For a decoder, the prompt and
        the target form one sequence and the labels are -100 on the prompt's positions and equal
        to the input ids on the answer and its end-of-turn token. For an encoder-decoder the
        prompt is the encoder's input and the labels are the target alone (the model shifts
        them into the decoder's input).
    """
    prompt_ids = encode_prompt(tokenizer, prompt, kind)
    target = answer_token_ids(tokenizer, answer, kind)
    if kind == ENCODER_DECODER:
        return {"input_ids": prompt_ids, "attention_mask": [1] * len(prompt_ids), "labels": target}
    return {
        "input_ids": prompt_ids + target,
        "attention_mask": [1] * (len(prompt_ids) + len(target)),
        # By position: the end-of-turn id may also be the pad id, and it must stay in the loss.
        "labels": [IGNORE_INDEX] * len(prompt_ids) + target,
    }


def answer_lengths(frame: pd.DataFrame, tokenizer, column: str = "answer", kind: str = DECODER) -> pd.Series:
    """Target length in tokens of each answer (end-of-turn included), as the labels count it."""
    eot = end_of_turn_id(tokenizer, kind)  # rendered once, not once per row
    return pd.Series(
        [len(_encode(tokenizer, str(a)) + [eot]) for a in frame[column]],
        index=frame.index, name="answer_tokens", dtype=int,
    )


def filter_by_answer_length(frame: pd.DataFrame, tokenizer, max_answer_tokens: int, kind: str = DECODER):
    """Split ``frame`` into rows whose answer fits in ``max_answer_tokens`` and the rest.

    Long answers are dropped, never truncated: a cut answer would teach the model to stop
    mid-sentence. The length counts the end-of-turn token, exactly as the labels are built.

    Args:
        frame: Rows with an ``answer`` column.
        tokenizer: The model's tokenizer.
        max_answer_tokens: The largest target length kept.
        kind: ``"decoder"`` or ``"encoder-decoder"`` (which end token is counted).

    Returns:
        ``(kept, dropped, lengths)``: the two parts of ``frame`` (original index kept) and the
        length of every row's answer (a Series aligned with ``frame``, for the histogram).

    Raises:
        ValueError: If ``frame`` is empty or every answer is longer than the limit (the message
            names the limit and the shortest answer's length).
    """
    if len(frame) == 0:
        raise ValueError("No rows to filter: the frame is empty.")
    lengths = answer_lengths(frame, tokenizer, kind=kind)
    keep = lengths <= max_answer_tokens
    if not keep.any():
        shortest = int(lengths.min())
        raise ValueError(
            f"Every one of the {len(frame)} answers is longer than MAX_ANSWER_TOKENS={max_answer_tokens} "
            f"tokens (the shortest has {shortest}, end-of-turn token included), so no example is left. "
            f"Fix: set MAX_ANSWER_TOKENS to at least {shortest}."
        )
    return frame[keep], frame[~keep], lengths


def _pad(sequences: Sequence[Sequence[int]], value: int, side: str) -> list[list[int]]:
    width = max(len(s) for s in sequences)
    if side == "left":
        return [[value] * (width - len(s)) + list(s) for s in sequences]
    return [list(s) + [value] * (width - len(s)) for s in sequences]


def collate_for_training(tokenizer, examples: Sequence[dict]) -> dict:
    """Pad a batch of :func:`build_training_example` items on the right into tensors.

    Right padding keeps every example's tokens at the same positions as when it stands alone;
    padded labels are -100 so the loss ignores them whatever the pad id is.
    """
    import torch

    if not examples:
        raise ValueError("Cannot collate an empty batch.")
    return {
        "input_ids": torch.tensor(_pad([e["input_ids"] for e in examples], _pad_id(tokenizer), "right")),
        "attention_mask": torch.tensor(_pad([e["attention_mask"] for e in examples], 0, "right")),
        "labels": torch.tensor(_pad([e["labels"] for e in examples], IGNORE_INDEX, "right")),
    }


def stop_ids(tokenizer, kind: str = DECODER) -> list[int]:
    """Tokens that end generation: the end-of-turn token, and eos if it differs."""
    ids = [end_of_turn_id(tokenizer, kind)]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(int(tokenizer.eos_token_id))
    return ids


def decode_until_stop(tokenizer, new_ids: Sequence[int], stop_ids: Sequence[int]) -> str:
    """Decode generated ids up to (not including) the first stop token, stripped."""
    new_ids = [int(i) for i in new_ids]
    stops = set(int(i) for i in stop_ids)
    end = next((i for i, t in enumerate(new_ids) if t in stops), len(new_ids))
    return tokenizer.decode(new_ids[:end], skip_special_tokens=True).strip()


def model_kind(model) -> str:
    """``"encoder-decoder"`` or ``"decoder"``, from a loaded model's config."""
    return ENCODER_DECODER if getattr(model.config, "is_encoder_decoder", False) else DECODER


def generate_answers(model, tokenizer, prompts: Sequence[str], max_new_tokens: int,
                     batch_size: int) -> list[str]:
    """Greedy answers to ``prompts``, in order, generated a batch at a time.

    Prompts are padded on the left so that every row's next token follows its last real
    token; the tokenizer's ``padding_side`` is set to ``"left"`` only for the call and then
    restored. Batches are made of prompts of similar length (less padding to compute), and
    the answers are returned in the prompts' order. Generation stops at the end-of-turn token
    (or eos).

    Args:
        model: A causal LM or an encoder-decoder model, with ``generate``.
        tokenizer: Its tokenizer.
        prompts: Prompts from :func:`build_prompt` (built for this model's kind).
        max_new_tokens: Upper bound on each answer's length.
        batch_size: Prompts per ``generate`` call.

    Returns:
        One stripped answer per prompt (the new text only).
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    kind = model_kind(model)
    stops = stop_ids(tokenizer, kind)
    pad_id = _pad_id(tokenizer)
    encoded = [encode_prompt(tokenizer, p, kind) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))
    answers: list[str] = [""] * len(encoded)
    was_training = model.training
    original_side = tokenizer.padding_side
    model.eval()
    try:
        tokenizer.padding_side = "left"
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = [encoded[i] for i in rows]
            # Padded by hand (on the tokenizer's side): a tokenizer without a pad token works too.
            input_ids = torch.tensor(_pad(batch, pad_id, tokenizer.padding_side))
            attention = torch.tensor(_pad([[1] * len(b) for b in batch], 0, tokenizer.padding_side))
            with torch.no_grad():
                output = model.generate(
                    input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                    do_sample=False, eos_token_id=stops, pad_token_id=pad_id,
                )
            # A decoder returns prompt + answer; an encoder-decoder returns the decoder side, which
            # opens with its start token (BART's is its eos: it must not end the answer at once).
            new = output[:, 1:] if kind == ENCODER_DECODER else output[:, input_ids.shape[1]:]
            for i, row in zip(rows, new, strict=True):
                answers[i] = decode_until_stop(tokenizer, row.tolist(), stops)
    finally:
        tokenizer.padding_side = original_side
        model.train(was_training)
    return answers


@dataclass
class StreamResult:
    """One streamed answer and its timing.

    ``first_token_s`` is the time from the call to the first new token (the prompt's
    processing, what a user waits for before anything appears); ``tokens_per_s`` is the rate
    of the tokens after the first (the decoding speed the user sees).
    """

    text: str
    new_tokens: int
    first_token_s: float
    total_s: float

    @property
    def tokens_per_s(self) -> float:
        decode = self.total_s - self.first_token_s
        return (self.new_tokens - 1) / decode if self.new_tokens > 1 and decode > 0 else float("nan")

    def as_dict(self) -> dict:
        return {"text": self.text, "new_tokens": self.new_tokens, "first_token_s": self.first_token_s,
                "total_s": self.total_s, "tokens_per_s": self.tokens_per_s}


class _TextCallbackStreamer:
    """A ``generate`` streamer that hands each new piece of text to a callback as it is decoded.

    The first ``put`` is the prompt (a decoder) or the decoder's start token (an
    encoder-decoder) and is skipped. The answer is decoded whole at every token and only the
    new characters are passed on, so a word split across tokens, or a character split across
    bytes (shown as U+FFFD until complete), is never printed half-made.
    """

    def __init__(self, tokenizer, stops: Sequence[int], on_text):
        self.tokenizer, self.stops, self.on_text = tokenizer, set(stops), on_text
        self.ids: list[int] = []
        self.times: list[float] = []
        self.sent = ""
        self._prompt_seen = False
        self._stopped = False

    def put(self, value) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.times.append(time.perf_counter())
            self.ids.append(int(token))
            self._stopped = self._stopped or int(token) in self.stops
        if self._stopped:
            return
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True).lstrip()
        if text.startswith(self.sent) and not text.endswith("\ufffd") and len(text) > len(self.sent):
            self.on_text(text[len(self.sent):])
            self.sent = text

    def end(self) -> None:
        text = decode_until_stop(self.tokenizer, self.ids, list(self.stops))
        if text.startswith(self.sent) and len(text) > len(self.sent):
            self.on_text(text[len(self.sent):])
        self.sent = text


def stream_answer(model, tokenizer, prompt: str, max_new_tokens: int, on_text=None) -> StreamResult:
    """Answer one prompt greedily, passing text to ``on_text`` as soon as each token is decoded.

    Args:
        model: A causal LM or encoder-decoder model.
        tokenizer: Its tokenizer.
        prompt: A prompt from :func:`build_prompt`.
        max_new_tokens: Upper bound on the answer's length.
        on_text: Called with each new piece of the answer (e.g. ``print(piece, end="")``);
            ``None`` just measures.

    Returns:
        The whole answer (as :func:`generate_answers` would give it) with its timing.
    """
    import torch

    kind = model_kind(model)
    stops = stop_ids(tokenizer, kind)
    streamer = _TextCallbackStreamer(tokenizer, stops, on_text or (lambda text: None))
    input_ids = torch.tensor([encode_prompt(tokenizer, prompt, kind)])
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    try:
        with torch.no_grad():
            model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                           max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stops,
                           pad_token_id=_pad_id(tokenizer), streamer=streamer)
    finally:
        model.train(was_training)
    if not streamer.times:
        return StreamResult(text="", new_tokens=0, first_token_s=float("nan"), total_s=0.0)
    return StreamResult(
        text=streamer.sent, new_tokens=len(streamer.ids),
        first_token_s=streamer.times[0] - start, total_s=streamer.times[-1] - start,
    )


def check_generative_model(config) -> str:
    """Whether a model can generate answers: ``"decoder"`` or ``"encoder-decoder"``.

    Args:
        config: The model's config (``AutoConfig.from_pretrained(...)`` or ``model.config``).

    Raises:
        ValueError: For an encoder-only model (BERT, MiniLM, RoBERTa, ...), which cannot
            generate text.
    """
    from transformers.models.auto import modeling_auto as auto

    model_type = getattr(config, "model_type", "")
    seq2seq = model_type in auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES
    if getattr(config, "is_encoder_decoder", False) or seq2seq:
        return "encoder-decoder"
    architectures = getattr(config, "architectures", None) or []
    # BERT-like encoders also have a causal-LM class (BertLMHeadModel), so membership in the
    # causal mapping alone is not enough: a type with a masked-LM head is an encoder.
    if any(a.endswith("ForCausalLM") for a in architectures) or (
        model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        return "decoder"
    raise ValueError(
        f"The model is an encoder-only model (model_type {model_type!r}), which cannot generate "
        "answers. Generative QA needs a decoder-only or an encoder-decoder model, "
        f"e.g. {GENERATIVE_EXAMPLES}. "
        "Fix: change MODEL, or use the extractive QA notebook for encoder models."
    )


# --- models -------------------------------------------------------------------------------------

def load_generative_model(name: str, seed: int = 42, load_in_4bit: bool = False):
    """Load a generative model and its tokenizer, choosing the model class from its config.

    Args:
        name: A local folder, a packaged hub id (SmolLM2, de-quantised once from the package's
            GGUF) or any hub id.
        seed: Seeds everything before any weight is created (the LoRA adapters come later, from
            the same random stream).
        load_in_4bit: Ask for QLoRA's 4-bit weights; honoured only where
            :func:`helpers.core.lora.qlora_support` says it can run.

    Returns:
        ``(model, tokenizer, kind, notes)``: ``kind`` is ``"decoder"`` or ``"encoder-decoder"``;
        ``notes`` are sentences for the notebook to print (padding and quantisation choices).

    Raises:
        ValueError: For an encoder-only model (see :func:`check_generative_model`).
        ModelNotFoundError: If the name resolves to nothing loadable.
    """
    from transformers import AutoConfig, set_seed


    set_seed(seed)
    path = resolve_model(name)
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as err:
        raise describe_failure(name, err) from err
    kind = check_generative_model(config)
    notes = []
    kwargs = {}
    if load_in_4bit:
        supported, reason = lora.qlora_support()
        notes.append(reason)
        if supported:
            kwargs["quantization_config"] = lora.quantization_config()
    model = load_pretrained(_auto_class(kind), name, **kwargs)
    if kwargs:
        import peft

        model = peft.prepare_model_for_kbit_training(model)
    tokenizer = load_tokenizer(name, require_fast=False)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"The tokenizer of {name!r} has neither a pad nor an eos token; batches "
                             "cannot be padded. Fix: set tokenizer.pad_token and save it with the model.")
        tokenizer.pad_token = tokenizer.eos_token
        notes.append(f"The tokenizer has no pad token; its eos token {tokenizer.eos_token!r} pads "
                     "(labels are masked by position, so the answer's own end token still counts).")
    if kind == DECODER and not _has_chat_template(tokenizer):
        notes.append("The tokenizer has no chat template: prompts use the plain '### Task / ### Context / "
                     "### Question / ### Answer' format and answers end with the eos token.")
    return model, tokenizer, kind, notes


def is_quantized(model) -> bool:
    """Whether ``model`` (or the base under its LoRA adapters) holds quantised weights (QLoRA's 4-bit)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return bool(getattr(base, "hf_quantizer", None) is not None or getattr(base, "is_loaded_in_4bit", False)
                or getattr(base, "is_loaded_in_8bit", False))


def merge_adapters(model, name: str, seed: int = 42):
    """The LoRA-trained ``model`` with its adapters merged into full-precision weights, ready to export.

    Full-precision weights take the adapters in place (:func:`helpers.core.lora.merge_lora`). Quantised
    ones (QLoRA) would round the small LoRA update away, so the adapters are merged onto a fresh
    full-precision copy of the base model ``name`` instead
    (:func:`helpers.core.lora.merge_onto_full_precision`).
    """
    if is_quantized(model):
        return lora.merge_onto_full_precision(model, lambda: load_generative_model(name, seed=seed)[0])
    return lora.merge_lora(model)


# --- data ---------------------------------------------------------------------------------------

def build_prompts(frame: pd.DataFrame, tokenizer, task_description: str, max_context_tokens: int | None,
                  kind: str = DECODER) -> list[str]:
    """One :func:`build_prompt` per row of a frame with ``question`` and ``context`` columns."""
    return [build_prompt(tokenizer, task_description, str(c), str(q), max_context_tokens, kind)
            for c, q in zip(frame["context"], frame["question"], strict=True)]


def build_training_examples(frame: pd.DataFrame, tokenizer, task_description: str,
                            max_context_tokens: int | None, kind: str = DECODER) -> list[dict]:
    """Training examples (:func:`build_training_example`) for every row of ``frame``."""
    prompts = build_prompts(frame, tokenizer, task_description, max_context_tokens, kind)
    return [build_training_example(tokenizer, p, str(a), kind)
            for p, a in zip(prompts, frame["answer"], strict=True)]


def context_lengths(frame: pd.DataFrame, tokenizer) -> pd.Series:
    """Length in tokens of each row's whole context (before any truncation)."""
    return pd.Series([len(_encode(tokenizer, str(c))) for c in frame["context"]], index=frame.index,
                     name="context_tokens", dtype=int)


def answers_cut_off(frame: pd.DataFrame, tokenizer, max_context_tokens: int | None) -> pd.Series:
    """Rows whose answer is in the whole context but no longer in the context cut to
    ``max_context_tokens`` (case ignored; yes/no answers, which are not in the text, never count).

    Such examples teach the model to answer without evidence; many of them say that
    ``MAX_CONTEXT_TOKENS`` is too small for the data.
    """

    def cut(answer: str, context: str) -> bool:
        answer = answer.strip().lower()
        if normalize_answer(answer) in ("yes", "no") or answer not in context.lower():
            return False
        return answer not in truncate_context(tokenizer, context, max_context_tokens).lower()

    return pd.Series([cut(str(a), str(c)) for a, c in zip(frame["answer"], frame["context"], strict=True)],
                     index=frame.index, name="answer_cut_off", dtype=bool)


def length_report(examples: Sequence[dict], dropped: int, total: int) -> dict:
    """Token counts of training examples, for the notebook's data checks."""
    if not examples:
        raise ValueError("No training examples to describe.")
    inputs = [len(e["input_ids"]) for e in examples]
    targets = [sum(1 for t in e["labels"] if t != IGNORE_INDEX) for e in examples]
    return {
        "examples": len(examples), "dropped_long_answers": int(dropped),
        "dropped_share": dropped / total if total else 0.0,
        "input_tokens_mean": float(sum(inputs) / len(inputs)), "input_tokens_max": int(max(inputs)),
        "target_tokens_mean": float(sum(targets) / len(targets)), "target_tokens_max": int(max(targets)),
    }


def train_generative(model, tokenizer, examples: Sequence[dict], config) -> list[dict]:
    """Fine-tune ``model`` (usually a LoRA-wrapped one) on ready examples; returns the log history.

    Batches are padded on the right by :func:`collate_for_training`; the run's length follows
    :func:`helpers.core.training.planned_steps`.
    """

    if not examples:
        raise ValueError("No training examples: every row was filtered out. Nothing was trained.")
    return run_trainer(model, tokenizer, list(examples), config,
                       collator=lambda batch: collate_for_training(tokenizer, batch))


# --- evaluation ---------------------------------------------------------------------------------

def score_predictions(frame: pd.DataFrame, predictions: Sequence[str]) -> pd.DataFrame:
    """``question, answer, prediction`` with per-row exact match, F1 and ROUGE-L (percent), and
    ``answer_type``: ``"yes/no"`` when the gold answer is yes or no, else ``"other"``.

    Every gold answer counts (``answer`` and ``other_answers``, see
    :func:`helpers.core.tasks.gold_answers`); each score keeps the best over them, as SQuAD does.
    """

    rows = frame[["question", "answer"]].copy()
    rows["prediction"] = list(predictions)
    pairs = list(zip(rows["prediction"], gold_answers(frame), strict=True))
    rows["exact_match"] = [100.0 * max(exact_match(p, a) for a in g) for p, g in pairs]
    rows["f1"] = [100.0 * max(token_f1(p, a) for a in g) for p, g in pairs]
    rows["rouge_l"] = [rouge_l([p], [g]) for p, g in pairs]
    rows["answer_type"] = ["yes/no" if normalize_answer(g[0]) in ("yes", "no") else "other" for _, g in pairs]
    return rows.reset_index(drop=True)


def evaluate_generative(model, tokenizer, frame: pd.DataFrame, task_description: str,
                        max_context_tokens: int | None, max_new_tokens: int, batch_size: int) -> Evaluation:
    """Answer every row of ``frame`` and score the answers against its ``answer`` column.

    Returns:
        An :class:`~helpers.core.evaluation.Evaluation` of :func:`scored_evaluation`, with the
        generation time in ``details["seconds"]``.
    """
    kind = model_kind(model)
    prompts = build_prompts(frame, tokenizer, task_description, max_context_tokens, kind)
    start = time.perf_counter()
    predictions = generate_answers(model, tokenizer, prompts, max_new_tokens, batch_size)
    seconds = time.perf_counter() - start
    evaluation = scored_evaluation(score_predictions(frame, predictions))
    evaluation.details["seconds"] = seconds
    return evaluation


def summarize_scores(scored: pd.DataFrame) -> dict:
    """The means of :func:`score_predictions`' per-row scores.

    Returns:
        ``{"exact_match", "f1", "rouge_l", "n", "answer_words", "yes_no_accuracy", "yes_no_n"}``
        (percentages); ``answer_words`` is the mean length of the answers in words (a wordy model
        shows here before anywhere else); ``yes_no_accuracy`` is the exact match over the rows
        whose gold answer is yes or no (NaN when there are none), already counted in the overall
        scores.
    """
    if len(scored) == 0:
        raise ValueError("no examples to score")
    yes_no = scored[scored["answer_type"] == "yes/no"]
    return {
        "exact_match": float(scored["exact_match"].mean()), "f1": float(scored["f1"].mean()),
        "rouge_l": float(scored["rouge_l"].mean()), "n": len(scored),
        "answer_words": float(scored["prediction"].str.split().str.len().mean()),
        "yes_no_accuracy": float(yes_no["exact_match"].mean()) if len(yes_no) else float("nan"),
        "yes_no_n": len(yes_no),
    }


SCORE_COLUMNS = ("exact_match", "f1", "rouge_l", "yes_no_accuracy", "answer_words")
"""The scores of a generative evaluation, in the order of the comparison table."""


def scored_evaluation(scored: pd.DataFrame) -> Evaluation:
    """An :class:`~helpers.core.evaluation.Evaluation` of answers scored by :func:`score_predictions`.

    ``scores``: exact match, F1, ROUGE-L, the yes/no accuracy (percent) and the mean answer length
    in words; ``groups``: ``{"yes/no": {"exact_match", "n"}}`` when there are yes/no questions.
    """
    summary = summarize_scores(scored)
    groups = ({"yes/no": {"exact_match": summary["yes_no_accuracy"], "n": summary["yes_no_n"]}}
              if summary["yes_no_n"] else {})
    return Evaluation(scores={c: summary[c] for c in SCORE_COLUMNS}, predictions=scored, groups=groups)


# --- export and deployment ----------------------------------------------------------------------

FAMILY = "generative-qa"
"""The family's name: its notebooks are ``generative-qa-*.ipynb``; its exports say so."""
SETTINGS_KEY = "generative_settings"
"""Key of ``export-info.json`` holding what the deployment needs to prompt the model as in training."""


def generative_settings(task_description: str, max_context_tokens: int | None, max_new_tokens: int,
                        kind: str) -> dict:
    """The prompt settings an export carries, so deployment builds the very prompts training used."""
    return {"task_description": task_description, "max_context_tokens": max_context_tokens,
            "max_new_tokens": int(max_new_tokens), "kind": _check_kind(kind)}


def set_generation_config(model, tokenizer, max_new_tokens: int) -> None:
    """Make the model's own generation config greedy, bounded, and stopping at the end of turn.

    Saved with the export as ``generation_config.json``, it makes a plain
    ``model.generate(input_ids)`` elsewhere behave like the notebooks.
    """
    kind = model_kind(model)
    config = model.generation_config
    config.max_new_tokens = int(max_new_tokens)
    config.do_sample = False
    for sampling_only in ("temperature", "top_p", "top_k"):
        setattr(config, sampling_only, None)
    config.eos_token_id = stop_ids(tokenizer, kind)
    config.pad_token_id = _pad_id(tokenizer)


def export_difference(model, tokenizer, folder, examples: Sequence[dict]) -> float:
    """Largest absolute logit difference between ``model`` and its export reloaded from ``folder``.

    Fed the same padded training examples, a faithful export gives ~0; an adapter that was not
    merged (or merged twice) gives a large value.
    """
    import torch

    reloaded, _ = _load_model_folder(folder)
    batch = collate_for_training(tokenizer, list(examples))
    model.eval()
    with torch.inference_mode():
        return float((model(**batch).logits - reloaded(**batch).logits).abs().max())


def _auto_class(kind: str):
    """The transformers auto class that loads a model of this kind with its generation head."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM if _check_kind(kind) == ENCODER_DECODER else AutoModelForCausalLM


def _load_model_folder(folder):
    from transformers import AutoConfig, AutoTokenizer

    kind = check_generative_model(AutoConfig.from_pretrained(folder))
    return _auto_class(kind).from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


class GenerativeAnswerer:
    """Answer questions about a context with an exported generative model, as it was trained.

    Args:
        model: The merged model.
        tokenizer: Its tokenizer.
        settings: :func:`generative_settings` (the task description and limits of training).
    """

    KIND = "generative"
    """What kind of reader this is for ``open_book_qa`` (it writes its answers)."""

    def __init__(self, model, tokenizer, settings: dict):
        self.model, self.tokenizer, self.settings = model.eval(), tokenizer, dict(settings)
        self.kind = model_kind(model)

    @classmethod
    def from_export(cls, path, unpack_to=None) -> GenerativeAnswerer:
        """Load ``path`` (the ``model/`` folder, its ``OUTPUT_DIR`` or the tarball) on CPU.

        Raises:
            ExportError: If a file is missing, or the export is not a generative QA export (its
                ``export-info.json`` has no prompt settings).
        """

        folder = locate_export(path, unpack_to)
        settings = require_family(folder, FAMILY, "generative-qa-training.ipynb").get(SETTINGS_KEY)
        if not settings:
            raise ExportError(
                f"{folder / 'export-info.json'} has no {SETTINGS_KEY!r}: this is not an export of the "
                "generative QA training notebook (an extractive or classification model?). Fix: point "
                "MODEL_DIR at the OUTPUT_DIR of generative-qa-training.ipynb."
            )
        if not (folder / "generation_config.json").is_file():
            raise ExportError(f"Export folder {folder} is missing generation_config.json. Fix: re-run the "
                              "generative training notebook's export step.")
        model, tokenizer = _load_model_folder(folder)
        return cls(model, tokenizer, settings)

    def prompt(self, question: str, context: str) -> str:
        """The prompt training used for this question and context."""
        if not str(question).strip():
            raise ValueError("The question is empty. Fix: ask a question (a non-blank string).")
        return build_prompt(self.tokenizer, self.settings["task_description"], str(context), str(question),
                            self.settings["max_context_tokens"], self.kind)

    def answer(self, question: str, context: str) -> str:
        """The greedy answer to one question."""
        return self.answer_batch([question], [context], batch_size=1)[0]

    def answer_batch(self, questions: Sequence[str], contexts: Sequence[str],
                     batch_size: int = 8) -> list[str]:
        """Answers to many questions, batched with left padding."""
        prompts = [self.prompt(q, c) for q, c in zip(questions, contexts, strict=True)]
        return generate_answers(self.model, self.tokenizer, prompts, self.settings["max_new_tokens"],
                                batch_size)

    def read(self, questions: Sequence[str], contexts: Sequence[str]) -> list[dict]:
        """The reader interface of ``open_book_qa`` (shared with the extractive reader): one dict per
        question with ``answer``, ``kind`` (``"generated"``) and ``start`` (-1: not a span)."""
        answers = self.answer_batch(questions, contexts)
        return [{"answer": a, "kind": "generated", "start": -1} for a in answers]

    def answer_csv(self, input_csv, output_csv, batch_size: int = 8, chunk_size: int = 200,
                   progress: bool = True, n_preview: int = 10) -> dict:
        """Answer a CSV of any size (``question`` and ``context`` columns) into a new CSV, chunk by chunk.

        Adds ``predicted`` to every row, keeping the other columns (see
        :func:`helpers.core.streaming.stream_csv`). Only running sums stay in memory.

        Returns:
            ``{"output_csv", "rows", "seconds", "preview" (the first rows), "gold"}``; ``gold`` is
            :func:`summarize_scores` of every row against an ``answer`` column, or None.
        """
        def score(chunk: pd.DataFrame) -> pd.DataFrame:
            answers = self.answer_batch(chunk["question"].tolist(), chunk["context"].tolist(), batch_size)
            return chunk.assign(predicted=answers)

        run = StreamedCsv(input_csv, output_csv, score, ["question", "context"], chunk_size, progress,
                          n_preview)
        sums = dict.fromkeys(("exact_match", "f1", "rouge_l", "answer_words", "yes_no"), 0.0)
        yes_no_n = 0
        for chunk in run:
            if "answer" in chunk:
                s = summarize_scores(score_predictions(chunk, chunk["predicted"]))
                for key in ("exact_match", "f1", "rouge_l", "answer_words"):
                    sums[key] += s[key] * s["n"]
                sums["yes_no"] += s["yes_no_accuracy"] * s["yes_no_n"] if s["yes_no_n"] else 0.0
                yes_no_n += s["yes_no_n"]
        gold, n = None, run.rows
        if run.has("answer"):
            gold = {**{k: sums[k] / n for k in ("exact_match", "f1", "rouge_l")}, "n": n,
                    "answer_words": sums["answer_words"] / n,
                    "yes_no_accuracy": sums["yes_no"] / yes_no_n if yes_no_n else float("nan"),
                    "yes_no_n": yes_no_n}
        return run.summary(gold=gold)

    def stream(self, question: str, context: str, on_text=None) -> StreamResult:
        """Answer one question, handing each piece of text to ``on_text`` as it is generated."""
        return stream_answer(self.model, self.tokenizer, self.prompt(question, context),
                             self.settings["max_new_tokens"], on_text)


def generation_speed(answerer: GenerativeAnswerer, questions: Sequence[str], contexts: Sequence[str]) -> dict:
    """Time to first token and decoding speed over single streamed answers (after one warm-up).

    Returns:
        ``first_token_ms_p50``/``_p95``, ``tokens_per_s`` (median over answers of more than one
        token), ``answer_tokens_mean`` and ``n``.
    """
    import numpy as np

    questions, contexts = list(questions), list(contexts)
    if not questions:
        raise ValueError("No questions to time.")
    answerer.stream(questions[0], contexts[0])  # warm-up: first calls allocate
    runs = [answerer.stream(q, c) for q, c in zip(questions, contexts, strict=True)]
    first = np.array([r.first_token_s for r in runs]) * 1000
    rates = [r.tokens_per_s for r in runs if r.new_tokens > 1]
    return {
        "first_token_ms_p50": float(np.percentile(first, 50)),
        "first_token_ms_p95": float(np.percentile(first, 95)),
        "tokens_per_s": float(np.median(rates)) if rates else float("nan"),
        "answer_tokens_mean": float(np.mean([r.new_tokens for r in runs])), "n": len(runs),
    }


def export_generative_qa(model, tokenizer, output_dir, name: str, log_history: list[dict] | None,
                         settings: dict, info: dict | None = None):
    """Export a merged generative model as this family: weights, tokenizer, greedy
    ``generation_config.json``, training logs, ``export-info.json`` carrying the family, the task
    ``name`` and :func:`generative_settings`, and the tarball.

    Returns:
        :class:`helpers.core.export.ExportPaths`.
    """

    if hasattr(model, "peft_config"):
        raise ValueError("The model still has its LoRA adapters. Fix: merge them first "
                         "(helpers.core.lora.merge_lora) so the export loads without peft.")
    set_generation_config(model, tokenizer, settings["max_new_tokens"])
    return export_model(model, tokenizer, output_dir, name, log_history,
                        info={"family": FAMILY, "task": name, SETTINGS_KEY: settings, **(info or {})})
