"""``rpc.memory.snapshot``: snapshot anima projections now (``anima replay snapshot``)."""

from __future__ import annotations

import logging

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_contracts import SnapshotReply, SnapshotRequest, validate_anima_name
from animas_contracts.names import InvalidAnimaName
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_MSG_ID
from animas_memory_writer.handlers import Projector
from animas_memory_writer.snapshots import first_stored

_log = logging.getLogger(__name__)


class SnapshotServer:
    """Takes snapshots on request, as of the last event memory-writer has projected."""

    def __init__(self, projector: Projector, js: JetStreamContext, durable: str) -> None:
        self._projector = projector
        self._js = js
        self._durable = durable

    async def on_request(self, msg: Msg) -> None:
        """Answer a ``rpc.memory.snapshot`` request."""
        try:
            request = msgspec.json.decode(msg.data or b"{}", type=SnapshotRequest)
            if request.anima is not None:
                validate_anima_name(request.anima)
            reply = await self.snapshot(request.anima)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            reply = SnapshotReply(ok=False, error=f"bad snapshot request: {exc}")
        except Exception as exc:
            _log.exception("snapshot failed")
            reply = SnapshotReply(ok=False, error=f"snapshot failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))

    async def snapshot(self, anima: str | None) -> SnapshotReply:
        """Snapshot one anima, or every anima with a directory."""
        projector = self._projector
        async with projector.lock:
            position = projector.last or await self._acked()
            if position is None:
                return SnapshotReply(ok=False, error="memory-writer has projected no event yet")
            targets = [anima] if anima else projector.files.animas()
            taken: dict[str, int] = {}
            for name in targets:
                seq = await projector.snapshot(name, *position)
                if seq is not None:
                    taken[name] = seq
        if anima is not None and anima not in taken:
            return SnapshotReply(ok=False, error=f"there is no projection of {anima!r} to snapshot")
        return SnapshotReply(ok=True, snapshots=taken)

    async def _acked(self) -> tuple[int, str | None] | None:
        """Where this process has not projected anything yet: the durable's ack floor.

        Every event up to the floor was projected (by an earlier process). The one event that
        may have been projected but not acked lies past it, so it is replayed on top of the
        snapshot, which an idempotent projection absorbs.
        """
        info = await self._js.consumer_info(ACTIVITY_STREAM, self._durable)
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        if not floor:
            return None
        stored = await first_stored(self._js, floor)
        if stored is None or stored.metadata.sequence.stream != floor:
            return None
        return floor, (stored.headers or {}).get(HEADER_MSG_ID)
