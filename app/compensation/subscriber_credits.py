"""One subscriber's own compensation, for the public lookup ("is my line affected?", app/public).

Read from the final ledgers (written at closure) of incidents closed since a moment, with each
entry's current figures (its latest approved version, else the computed ones): a primary-key
read per ledger (the entry id is derived from incident and subscriber), never a ledger scan.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.compensation.ledger import final_rows
from app.compensation.models import CompensationEntry, CompensationLedger, entry_id_for
from app.extensions import db
from app.incidents.models import Incident, Status


def subscriber_credits(subscriber_id: int, closed_since: datetime) -> list[dict]:
    """Credits (economic fen > 0 or data GB > 0) of ``subscriber_id`` in the final ledgers of
    incidents closed since ``closed_since``, newest closure first."""
    ledgers = db.session.execute(
        select(Incident.id, Incident.number, Incident.closed_at)
        .join(CompensationLedger, CompensationLedger.incident_id == Incident.id)
        .where(Incident.status == Status.closed.value, Incident.closed_at >= closed_since)
        .order_by(Incident.closed_at.desc(), Incident.id.desc())).all()
    credits = []
    for incident_id, number, closed_at in ledgers:
        row = db.session.execute(final_rows(incident_id).where(
            CompensationEntry.id == entry_id_for(incident_id, subscriber_id))).first()
        if row is not None and (row.economic_credit_fen > 0 or row.data_credit_gb > 0):
            credits.append({"incident_id": incident_id, "incident_number": number, "closed_at": closed_at,
                            "economic_credit_fen": int(row.economic_credit_fen),
                            "data_credit_gb": int(row.data_credit_gb)})
    return credits
