"""Embeddings kept on disk between benchmark runs, so a rerun of the recall tables takes seconds.

The cache is keyed by the model's name, the kind of text (passage or query: some models prefix
them differently) and the text's hash, so a changed model or text is embedded afresh and never
served a stale vector. It lives under ``.cache/bench/`` in the repository (git-ignored); deleting
it only costs the next run the embedding time.
"""

from __future__ import annotations

import array
import hashlib
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from animas_priming.ports import Embedder


class CachedEmbedder:
    """An :class:`~animas_priming.ports.Embedder` that asks the wrapped one only for unseen texts."""

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        self._embedder = embedder
        folder.mkdir(parents=True, exist_ok=True)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder.model_name)
        self._db = sqlite3.connect(folder / f"{safe_name}-{embedder.dimensions}.sqlite")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    @property
    def dimensions(self) -> int:
        """Length of every vector (the wrapped model's)."""
        return self._embedder.dimensions

    @property
    def model_name(self) -> str:
        """The wrapped model's name."""
        return self._embedder.model_name

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for memory text, from the cache where present."""
        return self._embed("passage", texts)

    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query, from the cache where present."""
        return self._embed("query", [text])[0]

    def close(self) -> None:
        """Close the cache file."""
        self._db.close()

    def _embed(self, kind: str, texts: Sequence[str]) -> list[list[float]]:
        keys = [hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest() for text in texts]
        found: dict[str, list[float]] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            batch = keys[start : start + 500]
            marks = ", ".join("?" * len(batch))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch
            ):
                found[key] = array.array("f", blob).tolist()
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            if kind == "query":
                vectors = [self._embedder.embed_query(text) for text in missing.values()]
            else:
                vectors = self._embedder.embed_passages(list(missing.values()))
            rows = [(key, array.array("f", v).tobytes()) for key, v in zip(missing, vectors, strict=True)]
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)
            self._db.commit()
            # Served as stored (float32) on the first run too, so a rerun ranks exactly alike.
            found.update((key, array.array("f", blob).tolist()) for key, blob in rows)
        return [found[key] for key in keys]
