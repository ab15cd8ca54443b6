"""The fully worked incident's clock: when each step happened (UTC)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

DETECTED = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)    # 08:00 in Shanghai
DECLARED = DETECTED + timedelta(minutes=5)
REPORTED = DETECTED + timedelta(minutes=40)                     # report window 15 min: 25 min late
RESPONDED = DETECTED + timedelta(minutes=60)                    # emergency response 30 min: 30 min late
RECOVERED = DETECTED + timedelta(minutes=180)                   # level 3 recovery 12 h: met
AFTER = RECOVERED + timedelta(minutes=30)
