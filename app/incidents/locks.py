"""The one lock order of the product: an incident's row, then its deadlines.

Its own module (models and the session only) so that the deadline domain can take the
incident locks without importing the incidents service and its flows.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.incidents.models import Incident


def lock_incidents(incident_ids) -> None:
    """Key-share-lock these incidents' rows (ids, or a SELECT of ids), in id order.

    The one lock order: an incident's row, then its deadlines. Every transition takes its
    incident FOR UPDATE before touching deadlines; whoever writes deadlines otherwise (the
    judge, a notice fulfilment) calls this first, so the two never wait on each other in a
    circle. KEY SHARE waits for a transition's FOR UPDATE but not for another key-share
    holder. SQLite has no row locks (one writer at a time): nothing to do there.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(select(Incident.id).where(Incident.id.in_(incident_ids)).order_by(Incident.id)
                       .with_for_update(read=True, key_share=True))
