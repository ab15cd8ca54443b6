"""Thin views of the catalog: read by every signed-in role, changed by an admin."""
from __future__ import annotations

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.catalog import service
from app.catalog.schemas import (PutResultSchema, RegionNodeSchema, RegionsPutSchema,
                                 RegionsQuerySchema, ServiceSchema, ServicesPutSchema, UnmappedCodeSchema)

blp = api_blueprint("catalog", __name__, url_prefix="/catalog", description="业务与区域目录 (services and regions)")


@blp.route("/services")
@requires("view_catalog")
@blp.response(200, ServiceSchema(many=True))
def services():
    """Every service code with its Chinese and English name; ``active: false`` is retired (refused for new input)."""
    return service.services()


@blp.route("/services", methods=["PUT"])
@requires("manage_catalog")
@blp.arguments(ServicesPutSchema)
@blp.response(200, PutResultSchema)
def put_services(data):
    """Add or update services by code (services not listed stay as they are; retire one with ``active: false``)."""
    return service.put_services(data["services"])


@blp.route("/regions")
@requires("view_catalog")
@blp.arguments(RegionsQuerySchema, location="query")
@blp.response(200, RegionNodeSchema(many=True))
def regions(args):
    """The region tree (province → city → district): flat with ``parent_code``, or ``?format=tree``."""
    if args["format"] == "tree":
        return service.region_tree()
    return service.regions()


@blp.route("/regions", methods=["PUT"])
@requires("manage_catalog")
@blp.arguments(RegionsPutSchema)
@blp.response(200, PutResultSchema)
def put_regions(data):
    """Add or update regions by code; each parent one level up (in the body or already known)."""
    return service.put_regions(data["regions"])


@blp.route("/unmapped")
@requires("manage_catalog")
@blp.response(200, UnmappedCodeSchema(many=True))
def unmapped():
    """Codes found in existing data (migration 0018) that the catalog does not know, for an admin to map."""
    return service.unmapped_codes()
