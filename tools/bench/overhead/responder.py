"""A trivial NATS echo responder, run as its own process by :func:`measure.nats_other_process`.

It reads one JSON line from stdin (``url``, ``user``, ``password``, ``subject``; the password
never appears on a command line), answers every request on the subject with its own payload,
prints ``ready`` once subscribed, and stops when its stdin closes. Only nats-py and the standard
library, so it runs as a plain script: ``python responder.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys

import nats
from nats.aio.msg import Msg


async def serve() -> None:
    """Echo until stdin closes."""
    setup = json.loads(sys.stdin.readline())
    nc = await nats.connect(setup["url"], user=setup["user"], password=setup["password"], connect_timeout=5)

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    try:
        await nc.subscribe(setup["subject"], cb=echo)
        await nc.flush()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await nc.close()


if __name__ == "__main__":
    asyncio.run(serve())
