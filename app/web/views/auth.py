"""Logging in and out of the console."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from app.web import forms
from app.web.session_auth import attempt_login, log_out, safe_next_url
from app.web.views import bp



@bp.get("/")
def index():
    return redirect(url_for("console.board"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = forms.LoginForm()
    next_url = safe_next_url(request.args.get("next"))
    if request.method == "GET" and getattr(g, "current_user", None) is not None:
        return redirect(next_url or url_for("console.board"))
    if form.validate_on_submit():
        outcome = attempt_login(form.name.data.strip(), form.password.data)
        if outcome.user is not None:
            return redirect(next_url or url_for("console.board"))
        form.password.errors.append(outcome.message)
        return render_template("web/login.html", form=form), outcome.status
    return render_template("web/login.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/logout")
def logout():
    log_out()
    flash("已退出登录", "info")
    return redirect(url_for("console.login"))


