"""The board (故障看板): every incident, filtered and paged."""
from __future__ import annotations

from flask import flash, render_template, request

from app.auth.permissions import requires
from app.incidents import service
from app.incidents.models import Incident
from app.web.views.alert_proposals import proposals_panel
from app.web import forms, panels, timefmt
from app.web.views import bp

BOARD_PAGE_SIZE = 50



@bp.get("/incidents")
@requires("view_incidents")
def board():
    """Open incidents first, then level, major and the time left to the next deadline."""
    filters = forms.BoardFilterForm(request.args)
    if filters.validate():
        criteria = filters.criteria()
    else:
        flash("筛选条件无效，已显示全部未闭环故障 (invalid filter ignored)", "error")
        criteria = forms.BoardFilterForm().criteria()
    page_number = request.args.get("page", 1, type=int) or 1
    page = service.incident_page(service.list_incidents(**criteria), max(1, page_number), BOARD_PAGE_SIZE)
    filtered = any(request.args.get(name) for name in ("q", "region", "level", "major", "breached")) or \
        request.args.get("status", forms.OPEN_ONLY) != forms.OPEN_ONLY
    return render_template("web/board.html", filters=filters, page=page, filtered=filtered,
                           elapsed=elapsed_text, deadline_cell=panels.board_deadline, proposals=proposals_panel(),
                           last_page=max(1, -(-page["total"] // BOARD_PAGE_SIZE)))


def elapsed_text(incident: Incident) -> str:
    """Time since detection; fixed at recovery or cancellation."""
    return timefmt.duration_text(service.outage_minutes_so_far(incident))


