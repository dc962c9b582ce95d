"""Reading a body back from the ``BODIES`` object store with direct gets (no consumer).

nats-py reads an object through an ordered push consumer, which needs a right to create
consumers; agent-runner may only store bodies and get stored messages of the object store's
stream (tools/src/animas_tools/authority.py). An object is its meta message (last on
``$O.<bucket>.M.<base64 name>``) naming the chunks' subject (``$O.<bucket>.C.<nuid>``), so a
last-by-subject get and a batched read of the chunks give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from animas_contracts.subjects import BODIES_BUCKET
from animas_core.streams import read_stored

OBJECT_STREAM = f"OBJ_{BODIES_BUCKET}"


async def stored_body(js: JetStreamContext, digest: str) -> bytes | None:
    """The body stored under ``digest`` ('sha256:<hex>'); None when it is gone or does not match."""
    name = base64.urlsafe_b64encode(digest.replace(":", "-").encode()).decode()
    try:
        meta = await js.get_msg(OBJECT_STREAM, subject=f"$O.{BODIES_BUCKET}.M.{name}", direct=True)
    except NotFoundError:
        return None
    info = json.loads(meta.data or b"{}")
    if info.get("deleted") or not info.get("nuid"):
        return None
    chunks = f"$O.{BODIES_BUCKET}.C.{info['nuid']}"
    data = b"".join([msg.data async for msg in read_stored(js, chunks, stream=OBJECT_STREAM)])
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256" or hashlib.sha256(data).hexdigest() != expected:
        return None
    return data
