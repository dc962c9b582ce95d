"""Index throughput benchmark: does priming's index keep up with a burst of chats?

Run it as ``python tools/bench/indexing_bench.py`` (see :mod:`indexing.__main__`). The modules:
:mod:`.lag` (the index backlog polled through the run), :mod:`.run` (the system, the burst, the
drain, the search for the last chat's fact), :mod:`.report` (its section of ``docs/benchmarks.md``).
The system under test is the overhead benchmark's (``anima up`` with the scripted LLM).
"""
