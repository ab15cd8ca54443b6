"""What happened to an incident, for the domains that act on it.

Each signal is sent by the incidents service inside the transition's transaction, after
the incident row has changed and before the commit, so a receiver's writes (deadlines,
queued notices, ledgers) commit or roll back together with the transition itself.
Receivers are connected in each domain's ``init_app``; the sender is always
``app.incidents.service`` and the keyword arguments are ``incident`` and ``actor``
(a ``User`` or None for the system), plus those named below.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

incident_declared = _signals.signal("incident-declared")
incident_reported = _signals.signal("incident-reported")
incident_responded = _signals.signal("incident-responded")          # emergency_response: bool
progress_update_posted = _signals.signal("progress-update-posted")  # update: TimelineEvent, notify_subscribers: bool
incident_regraded = _signals.signal("incident-regraded")            # before: dict, after: dict
incident_recovered = _signals.signal("incident-recovered")
incident_closed = _signals.signal("incident-closed")
incident_cancelled = _signals.signal("incident-cancelled")
responsibility_changed = _signals.signal("responsibility-changed")
