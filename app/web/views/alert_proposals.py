"""Alert proposals on the board: declare in one click, or dismiss with a reason."""
from __future__ import annotations

from flask import flash, g, redirect, url_for

from app.alerts import service
from app.auth.permissions import may, requires
from app.pagination import paginate
from app.web import forms
from app.web.views import bp

PANEL_SIZE = 20


def proposals_panel() -> dict | None:
    """The open proposals above the board's incident list, for users who may see them."""
    if not may(g.current_user, "view_alert_proposals"):
        return None
    page = paginate(service.list_proposals("open"), 1, PANEL_SIZE)
    return {"items": page["items"], "total": page["total"], "can_decide": may(g.current_user, "decide_alert_proposal"),
            "declare_form": forms.ProposalDeclareForm(formdata=None, prefix="declare"),
            "dismiss_form": forms.ProposalDismissForm(formdata=None, prefix="dismiss")}


@bp.post("/alert-proposals/<int:proposal_id>/declare")
@requires("decide_alert_proposal")
def declare_proposal(proposal_id: int):
    if not forms.ProposalDeclareForm(prefix="declare").validate():
        flash("未登记：表单无效，请刷新后重试 (nothing declared; invalid form)", "error")
        return redirect(url_for("console.board"))
    proposal = service.declare(proposal_id, g.current_user)
    flash("已根据告警提案登记故障", "success")
    return redirect(url_for("console.incident_detail", incident_id=proposal.incident_id))


@bp.post("/alert-proposals/<int:proposal_id>/dismiss")
@requires("decide_alert_proposal")
def dismiss_proposal(proposal_id: int):
    form = forms.ProposalDismissForm(prefix="dismiss")
    if not form.validate():
        flash("未忽略：请填写忽略原因 (nothing dismissed; a reason is required)", "error")
        return redirect(url_for("console.board"))
    service.dismiss(proposal_id, g.current_user, reason=form.reason.data)
    flash("告警提案已忽略", "success")
    return redirect(url_for("console.board"))
