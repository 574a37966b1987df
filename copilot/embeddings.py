"""Sentence embeddings with a local sentence-transformers model (offline: the model ships in a package)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from copilot.model_files import offline_environment, packaged_embedding_model
from copilot.tokens import TokenWindow

EMBEDDING_DIMENSIONS = 384  # the vector(384) column; a configured model must match it


class Embedder:
    """Normalised embeddings, so cosine distance and inner product agree."""

    def __init__(self, model: str | Path | None = None, *, device: str = "cpu") -> None:
        os.environ.update(offline_environment())
        from sentence_transformers import SentenceTransformer

        source = str(model) if model else str(packaged_embedding_model())
        self._model: Any = SentenceTransformer(source, device=device)
        dimensions = self._model.get_embedding_dimension()
        if dimensions != EMBEDDING_DIMENSIONS:
            raise ValueError(f"embedding model {source!r} gives {dimensions} dimensions; the schema stores 384")

    @property
    def window(self) -> TokenWindow:
        """What the model reads: it embeds the first ``max_seq_length`` tokens, [CLS] and [SEP] among them, and
        ignores the rest."""
        return TokenWindow(self._count_tokens, int(self._model.max_seq_length))

    def _count_tokens(self, text: str) -> int:
        # Truncated just past the window: the count needs no more, and the tokenizer warns of longer inputs.
        window = int(self._model.max_seq_length)
        return len(self._model.tokenizer(text, truncation=True, max_length=window + 1)["input_ids"])

    def embed(self, texts: list[str], *, batch_size: int = 64) -> list[np.ndarray]:
        if not texts:
            return []
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
