"""The board (故障看板): every incident, filtered and paged."""
from __future__ import annotations

from typing import Any

from flask import flash, render_template, request

from app.auth.permissions import requires
from app.incidents import service
from app.incidents.models import Incident
from app.pagination import paginate
from app.web.views.alerts import proposals_panel
from app.web import forms, panels, timefmt
from app.web.views import bp

BOARD_PAGE_SIZE = 50



@bp.get("/incidents")
@requires("view_incidents")
def board():
    filters = forms.BoardFilterForm(request.args)
    criteria: dict[str, Any] = {}
    if filters.validate():
        if filters.status.data:
            criteria["status"] = filters.status.data
        if filters.level.data:
            criteria["level"] = int(filters.level.data)
        if filters.major.data:
            criteria["major"] = filters.major.data == "1"
        if filters.breached.data:
            criteria["breached"] = filters.breached.data == "1"
    else:
        flash("筛选条件无效，已显示全部故障 (invalid filter ignored)", "error")
    page_number = request.args.get("page", 1, type=int) or 1
    page = paginate(service.list_incidents(**criteria), max(1, page_number), BOARD_PAGE_SIZE)
    return render_template("web/board.html", filters=filters, page=page, criteria=criteria,
                           elapsed=elapsed_text, deadline_cell=panels.board_deadline, proposals=proposals_panel(),
                           last_page=max(1, -(-page["total"] // BOARD_PAGE_SIZE)))


def elapsed_text(incident: Incident) -> str:
    """Time since detection; fixed at recovery or cancellation."""
    return timefmt.duration_text(service.outage_minutes_so_far(incident))


