"""GET /oncall (who is on duty now, and the roster of a window) and PUT /oncall (replace a window)."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.access import current_user
from app.auth.permissions import requires
from app.oncall import presenter, service
from app.oncall.schemas import RosterInSchema, RosterSchema, WindowQuerySchema

blp = api_blueprint("oncall", __name__, description="值班表：各级值班人员与班次 (on-call roster)")


@blp.route("/oncall")
@requires("view_oncall")
@blp.arguments(WindowQuerySchema, location="query")
@blp.response(200, RosterSchema)
def roster(args):
    """Who is on duty now at each tier, and the shifts of the window (default: this week from today)."""
    window_from, window_to = presenter.window(args.get("window_from"), args.get("window_to"))
    return presenter.roster(window_from, window_to, service.shifts_in(window_from, window_to))


@blp.route("/oncall", methods=["PUT"])
@requires("manage_oncall")
@blp.arguments(RosterInSchema)
@blp.response(200, RosterSchema)
def replace(args):
    """Replace the shifts starting in [from, to) with the given ones (validated whole; nothing changes on error)."""
    shifts = service.replace_roster(args["window_from"], args["window_to"],
                                    [presenter.shift_input(s) for s in args["shifts"]], current_user())
    return presenter.roster(args["window_from"], args["window_to"], shifts)
