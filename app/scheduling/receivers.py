"""What each incident transition means for its deadlines (connected in ``init_app``).

The incidents service sends these signals inside the transition's transaction, so the
deadline rows change in that same transaction: a declared incident never exists without
its deadlines, and a rolled-back transition leaves them as they were.
"""
from __future__ import annotations

from app.incidents import signals
from app.reports import signals as report_signals
from app.scheduling import service
from app.scheduling.models import DeadlineKind
from app.scheduling.windows import FROM_DETECTION, FROM_RECOVERY


def on_declared(sender, *, incident, actor, **_):
    service.create_deadlines(incident, FROM_DETECTION)


def on_reported(sender, *, incident, actor, **_):
    service.fulfil(incident, DeadlineKind.report, incident.reported_at)


def on_responded(sender, *, incident, actor, emergency_response=False, **_):
    service.fulfil(incident, DeadlineKind.response, incident.responded_at)
    if emergency_response and incident.emergency_response_at is not None:
        service.fulfil(incident, DeadlineKind.emergency_response, incident.emergency_response_at)


def on_recovered(sender, *, incident, actor, **_):
    service.fulfil(incident, DeadlineKind.recovery, incident.recovered_at)
    service.create_deadlines(incident, FROM_RECOVERY)


def on_regraded(sender, *, incident, actor, **_):
    service.recompute(incident, actor)


def on_cancelled(sender, *, incident, actor, **_):
    service.cancel_all(incident)


def on_analysis_report_submitted(sender, *, incident, actor, submitted_at, **_):
    service.fulfil(incident, DeadlineKind.analysis_report, submitted_at)


def connect() -> None:
    # weak=False: the receivers are module functions, but be explicit that they live forever.
    signals.incident_declared.connect(on_declared, weak=False)
    signals.incident_reported.connect(on_reported, weak=False)
    signals.incident_responded.connect(on_responded, weak=False)
    signals.incident_recovered.connect(on_recovered, weak=False)
    signals.incident_regraded.connect(on_regraded, weak=False)
    signals.incident_cancelled.connect(on_cancelled, weak=False)
    report_signals.analysis_report_submitted.connect(on_analysis_report_submitted, weak=False)
