"""Asking the priming service (``rpc.priming.prime.<anima>``)."""

from __future__ import annotations

import msgspec
from nats.aio.client import Client

from animas_contracts import PrimeReply, PrimeRequest
from animas_contracts.subjects import rpc_subject
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.rpc_tracing import traced_request


class RpcPriming:
    """Priming over request/reply; a silent or absent priming service is reported, not fatal."""

    def __init__(self, nc: Client, timeout_s: float = 10.0) -> None:
        self._nc = nc
        self._timeout_s = timeout_s

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        try:
            msg = await traced_request(
                self._nc,
                rpc_subject("priming", "prime", anima),
                msgspec.json.encode(request),
                timeout_s=self._timeout_s,
            )
        except BROKER_UNREACHABLE as exc:
            return PrimeReply(message_type="unknown", budget=0, errors={"priming": f"no answer: {exc!r}"})
        return msgspec.json.decode(msg.data, type=PrimeReply)
