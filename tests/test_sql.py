"""The shared SQL helpers: a unit of work that lost a race is undone and answered with a 409."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from app.auth.models import Role
from app.auth.service import create_user
from app.errors import NotFound, TransitionNotAllowed
from app.extensions import db
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.sql import commit_or_conflict, get_or_404


def test_a_row_changed_meanwhile_undoes_the_unit_of_work_with_a_409(app_ctx):
    user, _ = create_user("值班员", Role.operator)
    incident_id = incidents.declare(user, title="原标题", services=["iptv"], regions=["宁波"]).id
    incident = incidents.get_incident(incident_id, for_update=True)
    # Someone else's transition bumps the row's version behind this session's back.
    db.session.execute(update(Incident).where(Incident.id == incident_id)
                       .values(row_version=Incident.row_version + 1).execution_options(synchronize_session=False))
    incident.title = "改后的标题"
    with pytest.raises(TransitionNotAllowed) as raised:
        commit_or_conflict(("故障单", "incident"))
    assert raised.value.details["state"] == "changed"
    assert raised.value.message.startswith("故障单已被他人同时修改，请刷新后重试 (the incident changed concurrently")
    assert db.session.get(Incident, incident_id).title == "原标题"


def test_get_or_404_names_the_field_and_never_asks_past_the_key_range(app_ctx):
    for ident in (0, -1, 2**31, 404):
        with pytest.raises(NotFound) as raised:
            get_or_404(Incident, ident, label=("故障单", "incident"), field="incident_id")
        assert raised.value.details == {"incident_id": ident}
    db.session.execute(update(Incident).values(title="x"))  # the session is still usable
