"""WSGI entry point: ``flask --app wsgi …`` and any WSGI server."""
from app import create_app

app = create_app()
