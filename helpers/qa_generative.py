"""Generative question answering: prompts, training examples and batched greedy generation.

The contract (design §6): the prompt is the model's chat template with the task description as
the system message and the context plus question as the user message, ending in the generation
prompt; the target is the answer followed by the end-of-turn token the template writes after an
assistant message. Labels are -100 over the prompt tokens *by position*, because SmolLM2's pad id
equals its end-of-turn id and masking by id would also hide the token that teaches it to stop.

Prompts are strings that already carry their special tokens (the chat template writes them), so
they are always tokenised with ``add_special_tokens=False``.

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

from collections.abc import Sequence

import pandas as pd

IGNORE_INDEX = -100
"""Label value the loss ignores (``torch.nn.CrossEntropyLoss``'s default ``ignore_index``)."""

PLAIN_FORMAT = "### Task\n{task}\n### Context\n{context}\n### Question\n{question}\n### Answer\n"
"""Prompt format for tokenizers without a chat template."""

GENERATIVE_EXAMPLES = (
    "HuggingFaceTB/SmolLM2-135M-Instruct, Qwen/Qwen2.5-0.5B-Instruct or google/flan-t5-small"
)


def _has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def _encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


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
                 max_context_tokens: int | None = None) -> str:
    """The prompt for one question, ending where the model should start answering.

    Args:
        tokenizer: The model's tokenizer; its chat template is used when it has one, else the
            plain :data:`PLAIN_FORMAT`.
        task_description: What the model is asked to do (the system message).
        context: The passage the answer comes from (start of the user message).
        question: The question (end of the user message).
        max_context_tokens: Keep only the first this many tokens of the context (None: all).
            Only the context is ever shortened.

    Returns:
        The prompt text, special tokens included, ending in the generation prompt.
    """
    context = truncate_context(tokenizer, context, max_context_tokens)
    if not _has_chat_template(tokenizer):
        return PLAIN_FORMAT.format(task=task_description, context=context, question=question)
    user = f"Context:\n{context}\n\nQuestion: {question}"
    return _render(tokenizer, lambda system: _messages(task_description, user, system), True)


def end_of_turn_id(tokenizer) -> int:
    """The token that ends an assistant answer: the one the chat template writes after it.

    It is found by rendering a conversation with and without an assistant turn and taking the
    first non-blank token after the answer (``<|im_end|>`` for SmolLM2, ``<|eot_id|>`` for
    Llama 3), so no template's token is hard-coded. Without a chat template (or when the
    template writes nothing after the answer) it is the eos token.

    Raises:
        ValueError: If the tokenizer has no chat template and no eos token, or the template
            does not render the assistant turn after the generation prompt.
    """
    if _has_chat_template(tokenizer):
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


def answer_token_ids(tokenizer, answer: str) -> list[int]:
    """The target tokens of ``answer``: its tokens followed by :func:`end_of_turn_id`."""
    return _encode(tokenizer, answer) + [end_of_turn_id(tokenizer)]


def build_training_example(tokenizer, prompt: str, answer: str) -> dict:
    """One training example: prompt then target, with the loss on the target only.

    Args:
        tokenizer: The model's tokenizer.
        prompt: A prompt from :func:`build_prompt`.
        answer: The gold answer (never truncated).

    Returns:
        ``{"input_ids", "attention_mask", "labels"}`` as lists; labels are -100 on the prompt's
        positions and equal to the input ids on the answer and its end-of-turn token.
    """
    prompt_ids = _encode(tokenizer, prompt)
    target = answer_token_ids(tokenizer, answer)
    return {
        "input_ids": prompt_ids + target,
        "attention_mask": [1] * (len(prompt_ids) + len(target)),
        # By position: the end-of-turn id may also be the pad id, and it must stay in the loss.
        "labels": [IGNORE_INDEX] * len(prompt_ids) + target,
    }


def answer_lengths(frame: pd.DataFrame, tokenizer, column: str = "answer") -> pd.Series:
    """Target length in tokens of each answer (end-of-turn included), as the labels count it."""
    eot = end_of_turn_id(tokenizer)  # rendered once, not once per row
    return pd.Series(
        [len(_encode(tokenizer, str(a)) + [eot]) for a in frame[column]],
        index=frame.index, name="answer_tokens", dtype=int,
    )


def filter_by_answer_length(frame: pd.DataFrame, tokenizer, max_answer_tokens: int):
    """Split ``frame`` into rows whose answer fits in ``max_answer_tokens`` and the rest.

    Long answers are dropped, never truncated: a cut answer would teach the model to stop
    mid-sentence. The length counts the end-of-turn token, exactly as the labels are built.

    Args:
        frame: Rows with an ``answer`` column.
        tokenizer: The model's tokenizer.
        max_answer_tokens: The largest target length kept.

    Returns:
        ``(kept, dropped, lengths)``: the two parts of ``frame`` (original index kept) and the
        length of every row's answer (a Series aligned with ``frame``, for the histogram).

    Raises:
        ValueError: If ``frame`` is empty or every answer is longer than the limit (the message
            names the limit and the shortest answer's length).
    """
    if len(frame) == 0:
        raise ValueError("No rows to filter: the frame is empty.")
    lengths = answer_lengths(frame, tokenizer)
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


def _stop_ids(tokenizer) -> list[int]:
    ids = [end_of_turn_id(tokenizer)]
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(int(tokenizer.eos_token_id))
    return ids


def decode_until_stop(tokenizer, new_ids: Sequence[int], stop_ids: Sequence[int]) -> str:
    """Decode generated ids up to (not including) the first stop token, stripped."""
    new_ids = [int(i) for i in new_ids]
    stops = set(int(i) for i in stop_ids)
    end = next((i for i, t in enumerate(new_ids) if t in stops), len(new_ids))
    return tokenizer.decode(new_ids[:end], skip_special_tokens=True).strip()


def generate_answers(model, tokenizer, prompts: Sequence[str], max_new_tokens: int,
                     batch_size: int) -> list[str]:
    """Greedy answers to ``prompts``, in order, generated a batch at a time.

    Prompts are padded on the left so that every row's next token follows its last real
    token; the tokenizer's ``padding_side`` is set to ``"left"`` only for the call and then
    restored. Generation stops at the end-of-turn token (or eos).

    Args:
        model: A causal LM (or encoder-decoder) with ``generate``.
        tokenizer: Its tokenizer.
        prompts: Prompts from :func:`build_prompt`.
        max_new_tokens: Upper bound on each answer's length.
        batch_size: Prompts per ``generate`` call.

    Returns:
        One stripped answer per prompt (the new text only).
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stops = _stop_ids(tokenizer)
    pad_id = _pad_id(tokenizer)
    encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
    answers: list[str] = []
    was_training = model.training
    original_side = tokenizer.padding_side
    model.eval()
    try:
        tokenizer.padding_side = "left"
        for start in range(0, len(prompts), batch_size):
            batch = [_encode(tokenizer, p) for p in prompts[start:start + batch_size]]
            # Padded by hand (on the tokenizer's side): a tokenizer without a pad token works too.
            input_ids = torch.tensor(_pad(batch, pad_id, tokenizer.padding_side))
            attention = torch.tensor(_pad([[1] * len(b) for b in batch], 0, tokenizer.padding_side))
            with torch.no_grad():
                output = model.generate(
                    input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                    do_sample=False, eos_token_id=stops, pad_token_id=pad_id,
                )
            # A decoder returns prompt + answer; an encoder-decoder returns only the decoder side.
            new = output if encoder_decoder else output[:, input_ids.shape[1]:]
            answers.extend(decode_until_stop(tokenizer, row.tolist(), stops) for row in new)
    finally:
        tokenizer.padding_side = original_side
        model.train(was_training)
    return answers


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
