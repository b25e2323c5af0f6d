"""Frozen sentence embeddings: mean pooling over a transformer encoder's last layer."""

from __future__ import annotations

import numpy as np
import torch

from helpers.core.models import load_pretrained, load_tokenizer
from helpers.core.prediction import length_sorted_batches


class SentenceEncoder:
    """Encode texts into L2-normalised mean-pooled embeddings (the sentence-transformers recipe
    for all-MiniLM-L6-v2), with any encoder that ``AutoModel`` can load.

    Args:
        model_name: Local folder, packaged hub id or hub id.
        max_length: Longest input in tokens; longer texts are truncated.
        batch_size: Texts per forward pass.
    """

    def __init__(self, model_name: str, max_length: int = 256, batch_size: int = 32):
        from transformers import AutoModel

        self.model_name = model_name
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = load_tokenizer(model_name, require_fast=False)
        self.model = load_pretrained(AutoModel, model_name).eval()

    @torch.inference_mode()
    def encode(self, texts: list[str], normalize: bool = True) -> np.ndarray:
        """Embed ``texts``; returns an array of shape (len(texts), hidden_size), float32."""
        texts = list(texts)
        result = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for idx in length_sorted_batches(texts, self.batch_size):
            enc = self.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length,
                return_tensors="pt",
            )
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            result[idx] = pooled.float().numpy()
        return result
