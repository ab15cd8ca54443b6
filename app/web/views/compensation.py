"""The compensation panel's routes: the billing CSV of the final ledger, disputes (record one,
approve or reject a proposed plan) and rectification items (add, update, complete, reopen)."""
from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, stream_with_context, url_for

from app.auth.permissions import requires
from app.compensation import accountability, ledger
from app.compensation.money import yuan_to_fen
from app.compensation.schemas import DecisionSchema, DisputeSchema, RectificationCreateSchema, RectificationPatchSchema
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.web import forms
from app.web.views import bp
from app.web.views.form_input import attach_invalid, load
from app.web.views.incident import detail_page


@bp.get("/incidents/<int:incident_id>/compensation.csv")
@requires("view_compensation")
def compensation_csv(incident_id: int):
    """The same billing CSV the API serves (final ledger only; refused before closure)."""
    incident, chunks = ledger.billing_csv(incident_id)
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="compensation-{incident.number}.csv"'})


def _back(incident_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("console.incident_detail", incident_id=incident_id, _anchor="compensation"))


def _submit(incident_id: int, name: str, form, build, call):
    """Validate ``form``, load it through the API's schema, call the service; on a refusal
    re-render the incident page with the typed form (422), nothing changed."""
    data = build(form) if form.validate() else None
    if data is not None:
        try:
            return _back(incident_id, call(data))
        except InvalidInput as error:
            db.session.rollback()
            attach_invalid(form, error)
        except NotFound as error:  # e.g. a number with no entry in this ledger: keep what was typed
            db.session.rollback()
            form.form_errors.append(error.message)
    flash("未执行：请按提示修改后重新提交 (nothing changed; see the highlighted fields)", "error")
    return detail_page(incident_id, status=422, panel_forms={name: form})


@bp.post("/incidents/<int:incident_id>/compensation/disputes")
@requires("dispute_compensation")
def record_dispute(incident_id: int):
    def build(form):
        return load(DisputeSchema(), {"reason": form.reason.data.strip(), "economic_credit": form.economic_credit.data.strip(),
                                      "data_credit_gb": form.data_credit_gb.data}, form)

    def call(data):
        fen = yuan_to_fen("economic_credit", data["economic_credit"])
        ledger.dispute_for_phone(incident_id, form.phone.data, g.current_user, reason=data["reason"],
                                 economic_credit_fen=fen, data_credit_gb=data["data_credit_gb"])
        return "补偿异议已登记，调整方案待值班经理审批"

    form = forms.DisputeForm(prefix="dispute")
    return _submit(incident_id, "dispute", form, build, call)


def _decide(incident_id: int, entry_id: int, decide, verb: str):
    if ledger.get_entry(entry_id).incident_id != incident_id:
        raise NotFound(f"补偿记录 {entry_id} 不属于此故障 (entry not of this incident)", entry_id=entry_id)
    form = forms.DecisionForm(prefix="decision")

    def call(data):
        decide(entry_id, g.current_user, note=data.get("note"))
        return f"已{verb}补偿调整方案"

    return _submit(incident_id, "decision", form,
                   lambda f: load(DecisionSchema(), _present({"note": (f.note.data or "").strip()}), f), call)


@bp.post("/incidents/<int:incident_id>/compensation/<int:entry_id>/approve")
@requires("approve_compensation")
def approve_compensation(incident_id: int, entry_id: int):
    return _decide(incident_id, entry_id, ledger.approve, "批准")


@bp.post("/incidents/<int:incident_id>/compensation/<int:entry_id>/reject")
@requires("reject_compensation")
def reject_compensation(incident_id: int, entry_id: int):
    return _decide(incident_id, entry_id, ledger.reject, "驳回")


@bp.post("/incidents/<int:incident_id>/rectifications")
@requires("manage_rectifications")
def add_rectification(incident_id: int):
    def build(form):
        payload = {"title": form.title.data.strip(), "owner": form.owner.data.strip(),
                   "due_date": form.due_date.data.isoformat(), "description": (form.description.data or "").strip()}
        return load(RectificationCreateSchema(), payload, form)

    def call(data):
        item = accountability.add_rectification(incident_id, g.current_user, **data)
        return f"整改项「{item.title}」已添加"

    return _submit(incident_id, "rectification", forms.RectificationForm(prefix="rectification"), build, call)


@bp.post("/incidents/<int:incident_id>/rectifications/<int:item_id>")
@requires("manage_rectifications")
def update_rectification(incident_id: int, item_id: int):
    item = accountability.get_rectification(incident_id, item_id)
    form = forms.RectificationUpdateForm(prefix=f"rect-{item_id}")

    def build(form):
        payload: dict[str, Any] = {}
        if form.owner.data.strip() != item.owner:
            payload["owner"] = form.owner.data.strip()
        if form.due_date.data != item.due_date:
            payload["due_date"] = form.due_date.data.isoformat()
        if form.state.data:
            payload["completed"] = form.state.data == "done"
        if (form.completion_note.data or "").strip():
            payload["completion_note"] = form.completion_note.data.strip()
        return load(RectificationPatchSchema(), payload, form)

    def call(data):
        updated = accountability.update_rectification(incident_id, item_id, g.current_user, **data)
        return f"整改项「{updated.title}」已更新"

    return _submit(incident_id, f"rect-{item_id}", form, build, call)


def _present(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if value not in (None, "")}
