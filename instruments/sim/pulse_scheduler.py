"""Timed pulses for the simulated generator (burst trains, free-running output).

One daemon thread sleeps until the next due pulse. Each channel carries a
generation number; bumping it (output off, new settings) cancels what was queued.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

# Scheduling floor: the sim does not emulate free-running trains faster than this.
MIN_SCHEDULE_PERIOD_S = 0.0005


class PulseScheduler:
    def __init__(self, fire: Callable[[int, int, int], None], time_scale: float = 1.0) -> None:
        """`fire(channel, generation, tag)` is called from the scheduler thread.

        `time_scale` > 1 runs trains faster than real time (tests); pulse events still
        carry the programmed period, so the physiology sees the real rate.
        """
        self._fire = fire
        self._time_scale = time_scale
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="pulse-scheduler", daemon=True)
        self._thread.start()

    def schedule(self, delay_s: float, channel: int, generation: int, tag: int) -> None:
        when = time.monotonic() + max(delay_s, 0.0) / self._time_scale
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), channel, generation, tag))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        self._thread.join(timeout=1)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stopped:
                    return
                _, _, channel, generation, tag = heapq.heappop(self._heap)
            self._fire(channel, generation, tag)
