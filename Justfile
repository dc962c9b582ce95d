# AnimaWorks tasks. `python3 bootstrap.py test` installs everything and runs `just ci`.

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := justfile_directory() / ".venv/bin"

# Test processes for `just test`, `test-unit` and `test-shifted` (pytest-xdist; a test file stays in one
# worker, so a module's system fixture is started once). CI's 2 CPUs: e2e systems wait as much as they compute.
workers := env("ANIMAWORKS_TEST_WORKERS", "2")
xdist := "-n " + workers + " --dist loadfile"

[private]
default:
    @just --list

# Install the workspace into .venv (with dev tools), without running anything
[group('dev')]
sync:
    python3 bootstrap.py install

# ruff, import-linter and mypy
[group('check')]
lint:
    {{bin}}/ruff check .
    {{bin}}/ruff format --check contracts services tools clients tests
    {{bin}}/lint-imports
    {{bin}}/mypy contracts/src services/*/src tools/src tools/bench clients/python/src
    {{bin}}/mypy contracts/tests services/*/tests tools/tests clients/python/tests tests

# Regenerate the committed event schemas and AsyncAPI document
[group('contracts')]
schemas:
    {{bin}}/python -m animas_tools.schemas write

# Fail when the committed schemas or generated infra files differ from the code, or a manifest breaks its schema
[group('contracts')]
schemas-check:
    {{bin}}/python -m animas_tools.schemas check
    {{bin}}/python -m animas_tools.infra check
    {{bin}}/python -m animas_tools.manifests

# Regenerate infra/nats/accounts.conf from authority.py
[group('contracts')]
infra:
    {{bin}}/python -m animas_tools.infra write

# Fast tests: no nats-server, no processes
[group('test')]
test-unit:
    {{bin}}/python -m pytest {{xdist}} -m "not nats and not e2e" -q

# Every test, real nats-server and `anima up` included
[group('test')]
test *args:
    {{bin}}/python -m pytest -q {{xdist}} {{args}}

# The chaos suite: every process SIGKILLed in turn under chats, nats-server killed, sends under restarts (~6 min; left out of `just test` to keep CI within its time)
[group('test')]
test-chaos *args:
    {{bin}}/python -m pytest -q -m chaos {{args}}

# A 3-node NATS cluster (streams at R3) loses the ACTIVITY leader's node under chats across 20 animas: nothing lost or doubled, recovery times printed (-s shows them; also part of `just test`)
[group('test')]
test-cluster *args:
    {{bin}}/python -m pytest -q -s -m cluster {{args}}

# In-process tests again with the wall clock a year ahead: a test that passes only on the day it was written fails here
[group('test')]
test-shifted days="365":
    ANIMAWORKS_TEST_CLOCK_SHIFT_DAYS={{days}} {{bin}}/python -m pytest {{xdist}} -m "not nats and not e2e" -q

# What CI runs
[group('check')]
ci: lint schemas-check test test-shifted

# Start the system (embedded NATS and every service)
[group('run')]
up *args:
    {{bin}}/anima up {{args}}

# Recall benchmark on LoCoMo (../shared/bench): choices made on conversations 0-4, recall reported on 5-9 by retriever and ranking component (~4 min once .cache/bench holds the embeddings; writes its section of docs/benchmarks.md)
[group('bench')]
bench-recall *args:
    {{bin}}/python tools/bench/recall_bench.py {{args}}

# Priming latency: one prime against its raw floor (embed + numpy dot + one FTS5 query) at 1k/10k/100k chunks (minutes once .cache/bench holds the corpus vectors; the first run embeds 100k chunks, ~20 min; writes its section of docs/benchmarks.md)
[group('bench')]
bench-priming *args:
    {{bin}}/python tools/bench/priming_bench.py {{args}}

# Embedders and Japanese recall: per embedder and keyword tokenizer, recall on our Japanese set and LoCoMo's held-back half, embedding speed (the first run embeds ~30 min on 2 CPUs, then cached in .cache/bench; writes its section of docs/benchmarks.md)
[group('bench')]
bench-embedders *args:
    {{bin}}/python tools/bench/embedders_bench.py {{args}}

# Index throughput: a 450-chat burst over 20 animas, seconds from the last reply to index lag zero, a 450-change catch-up, the last chat's fact found by `anima search` (~5 min; writes its section of docs/benchmarks.md)
[group('bench')]
bench-indexing *args:
    {{bin}}/python tools/bench/indexing_bench.py {{args}}

# Underdog benchmark: the local 135M model answers 36 questions from memory, priming on and off (~5 min; writes its section of docs/benchmarks.md)
[group('bench')]
bench-underdog *args:
    {{bin}}/python tools/bench/underdog_bench.py {{args}}

# Framework overhead: chat latency p50/p95 and messages/s over 20 animas with an instant scripted LLM, against a raw NATS request/reply (~3 min; writes its section of docs/benchmarks.md)
[group('bench')]
bench-overhead *args:
    {{bin}}/python tools/bench/overhead_bench.py {{args}}

# The underdog grows: the local 135M model on a routine task over 4 simulated weeks, errors per week with and without daily/weekly consolidation (~5-8 min; writes its section of docs/benchmarks.md)
[group('bench')]
bench-learning *args:
    {{bin}}/python tools/bench/learning_bench.py {{args}}

# Scale on one machine: rebuild time from snapshots and from sequence 1 (10k and 50k published events over 10 animas), 1,000 idle animas' heartbeats (fire drift, memory per anima, idle CPU), indexing events/s quoted from bench-indexing (~30 min on 2 CPUs; writes its section of docs/benchmarks.md)
[group('bench')]
bench-scale *args:
    {{bin}}/python tools/bench/scale_bench.py {{args}}

# Every benchmark (each writes its own section of docs/benchmarks.md)
[group('bench')]
bench: bench-recall bench-priming bench-embedders bench-indexing bench-underdog bench-overhead bench-learning bench-scale
