"""Recall benchmark: LoCoMo evidence recall per retriever and ranking component, priming latency.

Run it as ``python tools/bench/recall_bench.py`` (see :mod:`recall.__main__`). The modules:
:mod:`.locomo` (the data set, episode files, scoring), :mod:`.retrievers` (every ranked row),
:mod:`.corpus` and :mod:`.latency` (the synthetic memory and priming timings), :mod:`.throughput`
(embedding speed), :mod:`.report` (the Markdown).
"""
