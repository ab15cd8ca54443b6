"""The public status page's fixtures: a cache emptied per test (event ids restart with each
test's empty database, so a rendering must not outlive its test)."""
from __future__ import annotations

import pytest

from app.public.views import status_cache


@pytest.fixture(autouse=True)
def empty_status_cache(app_ctx):
    status_cache().clear()
    yield
    status_cache().clear()
