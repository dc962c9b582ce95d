"""Streamed model output as a client sees it: pieces in order, once each, framed as server-sent events.

Pure: no I/O. ``streaming.py`` feeds it what arrives on ``delta.<anima>`` and writes out the frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from animas_contracts import ModelDelta

KEEP_ALIVE = b": keep-alive\n\n"
"""An SSE comment: clients ignore it, proxies and idle timers see traffic."""


class DeltaOrder:
    """Puts the pieces of one cycle back in ``seq`` order and passes each on once.

    Core NATS delivers a publisher's messages in order, but a runner that recovers a cycle from
    the journal may send pieces again, and pieces may come through different connections; so a
    piece already passed on is dropped, and one that arrives early is held until the gap before
    it fills (or until the reply shows the gap never will: see :meth:`rest`).
    """

    def __init__(self) -> None:
        self._next = 0
        self._attempt = 1
        self._held: dict[int, ModelDelta] = {}

    def accept(self, delta: ModelDelta) -> list[ModelDelta]:
        """The pieces ready to pass on now that ``delta`` has arrived (possibly none).

        A cycle retried after a failure streams afresh from seq 0 under a higher ``attempt``:
        the older attempt's stragglers are dropped and the new attempt's pieces pass on (the
        client sees the attempt in each frame and shows only the latest one's text).
        """
        if delta.attempt < self._attempt:
            return []
        if delta.attempt > self._attempt:
            self._attempt, self._next = delta.attempt, 0
            self._held.clear()
        if delta.seq < self._next or delta.seq in self._held:
            return []
        self._held[delta.seq] = delta
        ready: list[ModelDelta] = []
        while self._next in self._held:
            ready.append(self._held.pop(self._next))
            self._next += 1
        return ready

    def rest(self) -> list[ModelDelta]:
        """Everything still held behind a gap, in order: the reply has come, the gap will not fill."""
        ready = [self._held[seq] for seq in sorted(self._held)]
        self._held.clear()
        if ready:
            self._next = ready[-1].seq + 1
        return ready

    @property
    def held(self) -> int:
        """How many pieces wait behind a gap."""
        return len(self._held)


def sse_frame(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event. Compact JSON never contains a raw newline, so one ``data:`` line holds it."""
    return b"event: " + event.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


def delta_frame(delta: ModelDelta) -> bytes:
    """``event: delta`` with the piece's position, kind and text."""
    return sse_frame(
        "delta", {"seq": delta.seq, "kind": delta.kind.value, "text": delta.text, "attempt": delta.attempt}
    )
