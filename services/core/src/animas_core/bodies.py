"""Large request/response bodies in the ``BODIES`` object store, named by digest (DESIGN §4)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError

from animas_contracts.subjects import BODIES_BUCKET


class ObjectStoreBodies:
    """Stores a body once under its digest: a second put of the same digest is free."""

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
