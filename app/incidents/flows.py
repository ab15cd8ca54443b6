"""What each incident transition does in the other domains, in the order it happens.

The incidents service calls one function here per transition, after it changed the
incident row and wrote the timeline, and before it commits: everything below runs in the
transition's one unit of work and commits, or rolls back, with it. A reader sees from
``recovered`` everything recovery does; nothing depends on which domain was initialised
first (there are no signal receivers).

The report deadline is met by the dispatch centre's acknowledgement, in
``app.outbound.service.record_acknowledged``; the analysis report's submission meets its deadline in ``app.reports.service.submit``,
where that transition happens.
"""
from __future__ import annotations

from app.auth.models import User
from app.compensation import engine as compensation
from app.incidents.models import Incident, TimelineEvent
from app.notify import incident_notices as notices
from app.outbound import service as outbound
from app.policy import current_policy
from app.scheduling import service as deadlines
from app.scheduling.models import DeadlineKind
from app.scheduling.windows import FROM_DETECTION, FROM_RECOVERY


def declared(incident: Incident) -> None:
    deadlines.create_deadlines(incident, FROM_DETECTION, fresh=True)  # just inserted: nothing to read back
    notices.queue_initial_notice(incident, "declared")


def reported(incident: Incident) -> None:
    # The button starts the 上报; the dispatch centre's acknowledgement meets the report deadline
    # (app.outbound.service.record_acknowledged), whenever the outbound worker gets it.
    outbound.queue_dispatch_report(incident)
    notices.queue_initial_notice(incident, "reported")


def responded(incident: Incident) -> None:
    deadlines.fulfil(incident, DeadlineKind.response, incident.responded_at)
    if incident.emergency_response_at is not None:
        deadlines.fulfil(incident, DeadlineKind.emergency_response, incident.emergency_response_at)


def update_posted(incident: Incident, update: TimelineEvent, notify_subscribers: bool) -> None:
    if notify_subscribers:
        notices.queue_progress_notice(incident, update)


def regraded(incident: Incident, actor: User) -> None:
    deadlines.recompute(incident, actor)


def recovered(incident: Incident) -> None:
    policy = current_policy()
    deadlines.fulfil(incident, DeadlineKind.recovery, incident.recovered_at)
    deadlines.create_deadlines(incident, FROM_RECOVERY, policy)
    notices.queue_recovery_notice(incident, policy)  # meets recovery_notice at once when nobody is affected
    notices.queue_survey(incident, policy)


def cancelled(incident: Incident) -> None:
    deadlines.cancel_all(incident)


def closed(incident: Incident, actor: User) -> None:
    compensation.finalise(incident, current_policy(), actor)  # the final ledger, and its compensation notices
