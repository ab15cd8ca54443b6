"""The catalog page (业务与区域目录): read-only for everyone signed in; an admin also sees how to
change it and the codes migration 0018 could not map."""
from __future__ import annotations

from flask import render_template

from app.auth.access import current_user
from app.auth.permissions import may, requires
from app.catalog import service
from app.catalog.models import RegionLevel
from app.web.views import bp


@bp.get("/catalog")
@requires("view_catalog")
def catalog_page():
    can_manage = may(current_user(), "manage_catalog")
    return render_template("web/catalog.html", services=service.services(), tree=service.region_tree(),
                           level_label=RegionLevel.label_of, can_manage=can_manage,
                           unmapped=service.unmapped_codes() if can_manage else [])
