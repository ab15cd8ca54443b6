"""GET /api/v1/policy: the active policy and its version."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.policy import current_policy

blp = api_blueprint("policy", __name__, url_prefix="/policy", description="运营策略（时限、定级阈值、补偿规则）")


class PolicyDocumentSchema(Schema):
    version = fields.String(metadata={"description": "the label in the file plus a digest of its content"})
    label = fields.String()
    timezone = fields.String()
    hotline = fields.String()
    grades = fields.Dict()
    windows = fields.Dict()
    escalation = fields.Dict()
    grading = fields.Dict()
    regulator = fields.Dict()
    compensation = fields.Dict()
    notices = fields.Dict()


@blp.route("")
class ActivePolicy(MethodView):
    @requires("view_policy")
    @blp.response(200, PolicyDocumentSchema)
    def get(self):
        return current_policy().as_public_dict()
