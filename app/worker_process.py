"""A worker command's main loop: run until SIGTERM (a service manager stopping it) or Ctrl-C."""
from __future__ import annotations

import signal
import threading
from typing import Callable


def run_until_stopped(run_forever: Callable[[threading.Event], None]) -> None:
    """Call ``run_forever(stop)``; SIGTERM and Ctrl-C set ``stop`` so the loop ends its cycle cleanly."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
