"""priming's request/reply endpoints: prime, search (the index projection lives in indexer.py)."""

from __future__ import annotations

import logging
import time

import msgspec
from nats.aio.msg import Msg

from animas_contracts import PrimeReply, PrimeRequest, SearchReply, SearchRequest, validate_anima_name
from animas_contracts.names import InvalidAnimaName
from animas_core.metrics import Metrics
from animas_priming.primer import Primer
from animas_priming.searcher import Searcher

_log = logging.getLogger(__name__)


class RecallEndpoints:
    """Decode, validate the anima in the subject, serve, and always answer."""

    def __init__(self, primer: Primer, searcher: Searcher, metrics: Metrics | None = None) -> None:
        self._primer = primer
        self._searcher = searcher
        self._metrics = metrics or Metrics()

    async def on_prime(self, msg: Msg) -> None:
        """``rpc.priming.prime.<anima>``; its latency and failed channels are metrics."""
        started = time.perf_counter()
        try:
            anima = validate_anima_name(msg.subject.rsplit(".", 1)[-1])
            request = msgspec.json.decode(msg.data or b"{}", type=PrimeRequest)
            reply = await self._primer.prime(anima, request)
        except (InvalidAnimaName, msgspec.DecodeError) as exc:
            reply = PrimeReply(message_type="unknown", budget=0, errors={"request": str(exc)})
        except Exception as exc:
            _log.exception("priming failed")
            reply = PrimeReply(message_type="unknown", budget=0, errors={"priming": repr(exc)})
        await msg.respond(msgspec.json.encode(reply))
        self._metrics.primed(time.perf_counter() - started, reply.message_type, reply.errors)

    async def on_search(self, msg: Msg) -> None:
        """``rpc.priming.search.<anima>``."""
        try:
            anima = validate_anima_name(msg.subject.rsplit(".", 1)[-1])
            request = msgspec.json.decode(msg.data, type=SearchRequest)
            reply = await self._searcher.search(anima, request)
        except (InvalidAnimaName, msgspec.DecodeError) as exc:
            reply = SearchReply(error=f"bad search request: {exc}")
        except Exception as exc:
            _log.exception("search failed")
            reply = SearchReply(error=f"search failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))
