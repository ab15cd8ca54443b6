"""Thin views: one subscriber, CSV import, and an incident's affected subscribers."""
from __future__ import annotations

from flask import request
from flask_smorest import abort

from app.api_blueprint import api_blueprint
from app.auth.permissions import requires
from app.incidents.service import get_incident
from app.input_guard import large_upload
from app.pagination import PageQuerySchema
from app.subscribers import csv_import, service
from app.subscribers.schemas import AffectedSchema, ImportResultSchema, SubscriberCreateSchema, SubscriberSchema

blp = api_blueprint("subscribers", __name__, description="用户：登记、批量导入、受影响用户")



@blp.route("/subscribers", methods=["POST"])
@requires("manage_subscribers")
@blp.arguments(SubscriberCreateSchema)
@blp.response(201, SubscriberSchema)
def create_subscriber(data):
    """Create a subscriber, or update the one with the same number (phone stored E.164)."""
    subscriber, created = service.upsert_subscriber(**data)
    return subscriber, 201 if created else 200


@blp.route("/subscribers/import", methods=["POST"])
@requires("manage_subscribers")
@blp.response(200, ImportResultSchema)
@large_upload
def import_subscribers():
    """CSV upload (multipart field ``file``, or the CSV as the request body): phone,name,region,services,monthly_fee,language.

    Read as a stream, up to the import size limit (larger than the JSON limit); a file the CSV
    reader cannot read (e.g. a field over 131,072 characters) is refused whole, naming the line."""
    upload = request.files.get("file")
    try:
        result = csv_import.import_binary_stream(upload.stream if upload is not None else request.stream)
    except UnicodeDecodeError:
        abort(422, message="file: 文件须为UTF-8编码 (the CSV must be UTF-8)", errors={"files": {"file": ["not UTF-8"]}})
    except csv_import.UnreadableCsv as exc:
        abort(422, message=f"file: {exc}", line=exc.line, errors={"files": {"file": [str(exc)]}})
    if result.empty:
        abort(422, message="file: 需要上传CSV文件 (a CSV file is required)", errors={"files": {"file": ["required"]}})
    return result


@blp.route("/incidents/<int:incident_id>/affected")
@requires("view_subscribers")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, AffectedSchema)
def affected(args, incident_id):
    """Count and page of the subscribers in the incident's scope now."""
    return service.affected_page(get_incident(incident_id), args["page"], args["per_page"])
