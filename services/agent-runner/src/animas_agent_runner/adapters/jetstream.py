"""JetStream adapters: the body object store and the reply ledger."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from animas_contracts.subjects import BODIES_BUCKET
from animas_core.streams import event_stored_after


class ObjectStoreBodies:
    """Large bodies in the ``BODIES`` object store, named by digest (so a repeat is free)."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def put(self, digest: str, data: bytes) -> None:
        store = await self._js.object_store(BODIES_BUCKET)
        name = digest.replace(":", "-")
        try:
            await store.get_info(name)
            return
        except (ObjectNotFoundError, NotFoundError):
            pass
        await store.put(name, data)


class StreamReplyLedger:
    """Looks in the activity stream for a reply, scanning only one anima's replies after a point.

    Used only on redelivery: it makes "answered once" hold however long after JetStream's
    duplicate window the redelivery comes.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return await event_stored_after(
            self._js, anima=anima, event_type="response.sent", event_id=reply_id, after_seq=after_seq
        )
