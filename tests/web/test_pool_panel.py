"""The incident page says whether the sender pool sends the recovery notice in time (发送号码池)."""
from __future__ import annotations

from app.incidents.models import Status
from app.notify.pool import IdentityConfig
from tests import factories


def notices_section(browser, incident_id: int) -> str:
    html = browser.get(f"/incidents/{incident_id}").get_data(as_text=True)
    start = html.index('id="notices"')
    return html[start:html.index("</section>", start)]


def test_the_notices_panel_shows_the_pool_plan_and_how_many_numbers_it_needs(app_ctx, operator):
    factories.subscribers(factories.phones(40, start=1000))
    incident = factories.incident_in(Status.recovered, operator.user)
    panel = notices_section(operator, incident.id)
    assert "发送号码池 · 恢复通知：按当前1个号码（共100段/秒），预计1分钟内发完，在时限内（剩余2小时00分）" in panel
    assert 'class="pool-plan late"' not in panel
    # A pool of one number at 0.005 segments/s cannot send 40 messages in two hours: it says how many it takes.
    settings = app_ctx.extensions["noc_notify_settings"]
    app_ctx.extensions["noc_notify_settings"] = settings.with_(identities=(IdentityConfig("+8610690001", 0.005),))
    try:
        panel = notices_section(operator, incident.id)
    finally:
        app_ctx.extensions["noc_notify_settings"] = settings
    assert 'class="pool-plan late"' in panel and "超出时限（剩余2小时00分）；需要" in panel
