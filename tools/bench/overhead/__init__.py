"""Framework-overhead benchmark: a chat's latency and throughput next to one raw NATS round trip.

Run it as ``python tools/bench/overhead_bench.py`` (see :mod:`overhead.__main__`). The modules:
:mod:`.system` (a fresh home, the scripted LLM, ``anima up``, the animas), :mod:`.measure` (chats
over HTTP and the raw NATS and HTTP round trips), :mod:`.responder` (the echo responder's process),
:mod:`.stages` (a chat's stages from its events), :mod:`.machine` (CPU, load, busy time),
:mod:`.run` (the phases in order), :mod:`.report` (its section of ``docs/benchmarks.md``).
"""
