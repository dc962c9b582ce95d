"""Underdog benchmark: does primed memory let a 135M local model answer what it could not alone?

Run it as ``python tools/bench/underdog_bench.py`` (see :mod:`underdog.__main__`). The modules:
:mod:`.facts` (the questions, ``facts.json``), :mod:`.distractors` and :mod:`.memory` (the anima's
memory files), :mod:`.priming` (the priming service's indexer and primer, in process),
:mod:`.model` (an OpenAI-compatible client and the local-llm launcher), :mod:`.run` (both
conditions), :mod:`.report` (its section of ``docs/benchmarks.md``).
"""
