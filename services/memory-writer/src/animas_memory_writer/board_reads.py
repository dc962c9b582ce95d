"""``rpc.memory.board``: a board read from the boards projection (meta, members, a page of posts)."""

from __future__ import annotations

import asyncio
import sqlite3

import msgspec
from nats.aio.msg import Msg

from animas_contracts import BoardReply, BoardRequest
from animas_memory_writer.adapters.boards import BoardStore


class BoardServer:
    """Answers board reads; a bad request or an unreadable file is an error in the reply."""

    def __init__(self, store: BoardStore) -> None:
        self._store = store

    async def on_request(self, msg: Msg) -> None:
        """One ``rpc.memory.board`` request."""
        try:
            request = msgspec.json.decode(msg.data, type=BoardRequest)
            reply = await asyncio.to_thread(self._store.read, request)
        except msgspec.ValidationError as exc:
            reply = BoardReply(ok=False, error=f"bad board request: {exc}")
        except msgspec.DecodeError as exc:
            reply = BoardReply(ok=False, error=f"bad board request: {exc}")
        except (OSError, sqlite3.Error) as exc:
            reply = BoardReply(ok=False, error=f"board read failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))
