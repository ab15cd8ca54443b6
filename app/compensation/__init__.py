"""Compensation (补偿, RULES §5) and responsibility follow-up (责任通报, 整改, RULES §4)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Closing an incident finalises its ledger in the closing transaction."""
    from app.compensation import engine
    from app.incidents import signals

    signals.incident_closed.connect(engine.finalise_on_close, weak=False)
