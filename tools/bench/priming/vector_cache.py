"""Corpus vectors cached on disk, so a rerun of a benchmark does not embed 100k chunks again.

The cache lives in ``.cache/bench/`` (git-ignored). Texts are embedded and stored in blocks, each
file named by the model and a hash of the block's texts: an interrupted run resumes where it
stopped, and a smaller corpus that is a prefix of a bigger one reuses its blocks.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

BLOCK = 4_096
Matrix = npt.NDArray[np.float32]


class PassageEmbedder(Protocol):
    """The part of an embedder the cache uses."""

    @property
    def model_name(self) -> str:
        """Keys the cache: another model's vectors are never reused."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of memory texts."""
        ...


def block_key(model_name: str, texts: Sequence[str]) -> str:
    """The cache file stem of one block: the model and every text, hashed."""
    digest = hashlib.sha256(model_name.encode())
    for text in texts:
        digest.update(b"\x00" + text.encode())
    return f"{model_name.replace('/', '_')}-{digest.hexdigest()[:24]}"


def cached_vectors(embedder: PassageEmbedder, texts: Sequence[str], cache_dir: Path) -> tuple[Matrix, int]:
    """Vectors of ``texts`` in order, and how many of them had to be embedded.

    Blocks stored in ``cache_dir`` are read; the others are embedded and stored.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    blocks: list[Matrix] = []
    started = time.perf_counter()
    embedded = 0
    for begin in range(0, len(texts), BLOCK):
        block = texts[begin : begin + BLOCK]
        file = cache_dir / f"{block_key(embedder.model_name, block)}.npy"
        if file.exists():
            blocks.append(np.load(file))
            continue
        vectors = np.asarray(embedder.embed_passages(block), dtype=np.float32)
        # Written under another name, then renamed: a killed run never leaves half a block behind.
        partial = file.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, vectors)
        partial.replace(file)
        blocks.append(vectors)
        embedded += len(block)
        rate = embedded / (time.perf_counter() - started)
        left = len(texts) - begin - len(block)
        print(
            f"  embedded {begin + len(block):,}/{len(texts):,} chunks, {rate:.0f}/s,"
            f" ~{left / rate:.0f} s left",
            flush=True,
        )
    if not blocks:
        return np.zeros((0, 0), dtype=np.float32), embedded
    return np.concatenate(blocks), embedded
