"""The scripted LLM server: one script queue, served over HTTP in two wire formats.

Tests and demos point a real client (litellm, the openai SDK, the anthropic SDK) at
:attr:`ScriptedLLM.openai_base` or :attr:`ScriptedLLM.anthropic_base` and get back a fixed
sequence of replies, tool calls, errors, delays and held responses, streamed or not, with every
request recorded for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import ThreadingHTTPServer
from typing import Any

import msgspec

from animas_tools.http_thread import ServedInThread
from animas_tools.scripted_llm.handler import Server
from animas_tools.scripted_llm.script import Answer, ScriptError, Turn, resolve, to_turns

Responder = Callable[[Mapping[str, Any]], Turn | None]
"""Answers a request body by rule: a :class:`Turn`, or None to leave the request to the script."""


class ScriptedLLM(ServedInThread):
    """An OpenAI- and Anthropic-compatible HTTP server answering from a script of :class:`Turn`."""

    def __init__(
        self,
        turns: Sequence[Turn | Mapping[str, Any]] = (),
        *,
        repeat: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        hold_timeout_s: float = 60.0,
        api_key: str | None = None,
    ) -> None:
        """Prepare the server; nothing listens until :meth:`start`.

        Args:
            turns: The script, as :class:`Turn` or dicts with the same fields.
            repeat: Start over from the first turn once the script is exhausted.
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.
            hold_timeout_s: How long a ``hold`` turn waits for :meth:`release`.
            api_key: When set, requests without this key (as a bearer token or ``x-api-key``)
                get a 401, to prove which key was sent.
        """
        super().__init__(host, port)
        self._hold_timeout_s = hold_timeout_s
        self.api_key = api_key
        self._cond = threading.Condition()
        self._turns, self._repeat, self._served = to_turns(turns), repeat, 0
        self._used: set[int] = set()
        self._calls = 0
        self._held: set[threading.Event] = set()
        self._stopping = False
        self._requests: list[dict[str, Any]] = []
        self._responder: Responder | None = None

    thread_name = "scripted-llm"

    def _make_server(self, address: tuple[str, int]) -> ThreadingHTTPServer:
        self._stopping = False
        return Server(address, self)

    def _before_stop(self) -> None:
        """Release held requests and delays first, so stopping never hangs on one."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.release()

    @property
    def openai_base(self) -> str:
        """The ``api_base`` for OpenAI-compatible clients (``url`` + ``/v1``)."""
        return self.url + "/v1"

    @property
    def anthropic_base(self) -> str:
        """The ``base_url`` for the anthropic SDK and litellm's ``anthropic/`` route (``url``).

        Anthropic clients append ``/v1/messages`` themselves.
        """
        return self.url

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Model requests received so far: ``path``, ``format``, redacted ``headers``, ``body``.

        ``format`` is ``"openai"`` or ``"anthropic"``, after the endpoint that was called.
        """
        with self._cond:
            return list(self._requests)

    def load(self, turns: Sequence[Turn | Mapping[str, Any]], repeat: bool = False) -> None:
        """Replace the script and restart from its first turn (``served`` keeps counting)."""
        validated = to_turns(turns)
        with self._cond:
            self._turns, self._repeat, self._used = validated, repeat, set()

    def respond_with(self, responder: Responder | None) -> None:
        """Answer by rule: ``responder`` sees every request first.

        A :class:`Turn` it returns answers the request without using up the script; None leaves
        the request to the script, as without a responder.

        For load and chaos tests, where many animas ask at once, in any order, and a redelivered
        cycle asks the same thing again: the answer depends on the request, not on its turn.
        """
        with self._cond:
            self._responder = responder

    def release(self) -> int:
        """Let every currently held request answer; returns how many were waiting."""
        with self._cond:
            held, self._held = self._held, set()
        for event in held:
            event.set()
        return len(held)

    def wait_for_requests(self, n: int, timeout_s: float = 5.0) -> bool:
        """Block until at least ``n`` requests were received; ``False`` on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= n, timeout_s)

    # --- called by the request handler ------------------------------------------------------

    def _health(self) -> dict[str, Any]:
        with self._cond:
            return {"ok": True, "served": self._served, "remaining": len(self._turns) - len(self._used)}

    def _load_json(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        turns, repeat = body.get("turns"), body.get("repeat", False)
        if not isinstance(turns, list) or not isinstance(repeat, bool):
            raise ScriptError(400, 'expected {"turns": [...], "repeat": bool}', "invalid_script")
        try:
            self.load(turns, repeat=repeat)
        except msgspec.ValidationError as exc:
            raise ScriptError(400, f"invalid turn: {exc}", "invalid_script") from None
        return 200, {"ok": True, "turns": len(turns), "repeat": repeat}

    def _pause(self, seconds: float) -> None:
        # stop() cuts a delay short rather than waiting it out.
        with self._cond:
            self._cond.wait_for(lambda: self._stopping, seconds)

    def _take_turn(self, request: dict[str, Any]) -> tuple[Answer, Turn, threading.Event | None]:
        # Recording, taking the turn and registering the hold happen under one lock, so a
        # release() issued after wait_for_requests() sees the request always frees it.
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
            if len(self._used) >= len(self._turns) and self._repeat:
                self._used = set()
            turn = self._responder(request["body"]) if self._responder else None
            if turn is None:
                turn = self._next_scripted(request["body"])
            self._served += 1
            answer = resolve(turn, self._served, self._calls + 1, request["body"])
            self._calls += len(turn.tool_calls)
            hold = threading.Event() if turn.hold and not self._stopping else None
            if hold is not None:
                self._held.add(hold)
            return answer, turn, hold

    def _next_scripted(self, body: Mapping[str, Any]) -> Turn:
        """The first unused turn that matches ``body`` (call with the lock held)."""
        body_text = json.dumps(body, ensure_ascii=False)
        index = next(
            (i for i, t in enumerate(self._turns) if i not in self._used and t.matches(body_text)), None
        )
        if index is None:
            left = len(self._turns) - len(self._used)
            why = (
                f"script exhausted after {len(self._turns)} turns"
                if not left
                else f"none of the {left} unused turns matches this request"
            )
            raise ScriptError(500, f"scripted LLM: {why}", "script_exhausted")
        self._used.add(index)
        return self._turns[index]

    def _answer(self, request: dict[str, Any]) -> tuple[Answer, Turn]:
        """Record ``request``, take the next turn and wait out its delay and hold.

        Raises:
            ScriptError: The script is exhausted, or the turn is a scripted error.
        """
        answer, turn, hold = self._take_turn(request)
        if turn.delay_s:
            self._pause(turn.delay_s)
        if hold is not None and not hold.wait(self._hold_timeout_s):
            with self._cond:
                self._held.discard(hold)
        if turn.status != 200:
            raise ScriptError(turn.status, turn.error or f"scripted error (HTTP {turn.status})")
        return answer, turn
