"""Recall@k and MRR of ranked id lists against the ids that answer each question."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence


@dataclasses.dataclass
class Scores:
    """Mean recall@5, recall@10 and MRR (first relevant hit within the top 10) over questions."""

    questions: int = 0
    recall5: float = 0.0
    recall10: float = 0.0
    reciprocal_ranks: float = 0.0

    def add(self, ranked: Sequence[str], relevant: frozenset[str]) -> None:
        """Score one question's ranking."""
        self.questions += 1
        self.recall5 += len(relevant.intersection(ranked[:5])) / len(relevant)
        self.recall10 += len(relevant.intersection(ranked[:10])) / len(relevant)
        first = next((rank for rank, found in enumerate(ranked[:10], start=1) if found in relevant), None)
        self.reciprocal_ranks += 1.0 / first if first else 0.0

    def cells(self) -> str:
        """``r@5 | r@10 | MRR`` as Markdown table cells (percent, MRR as a fraction)."""
        n = self.questions or 1
        return (
            f"{100 * self.recall5 / n:.1f} | {100 * self.recall10 / n:.1f} | {self.reciprocal_ranks / n:.3f}"
        )

    def r5(self) -> float:
        """Mean recall@5 in percent."""
        return 100 * self.recall5 / (self.questions or 1)

    def r10(self) -> float:
        """Mean recall@10 in percent."""
        return 100 * self.recall10 / (self.questions or 1)
