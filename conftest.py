"""Suite-wide fixtures: the clock moved forward, so a test that only passes on the day it was written fails.

`ANIMAWORKS_TEST_CLOCK_SHIFT_DAYS=365 pytest -m "not nats and not e2e"` runs every in-process test
with the wall clock (``datetime.now``, ``time.time``…) a year ahead and ticking. CI runs the
suite once like that (see the Justfile's ``test-shifted``). Child processes (nats-server, the
services of ``anima up``) keep the real clock, so only in-process tests take part.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

SHIFT_ENV = "ANIMAWORKS_TEST_CLOCK_SHIFT_DAYS"


@pytest.fixture(autouse=True)
def _shifted_clock() -> Iterator[None]:
    days = os.environ.get(SHIFT_ENV, "").strip()
    if not days:
        yield
        return
    with time_machine.travel(datetime.now(UTC) + timedelta(days=int(days)), tick=True):
        yield
