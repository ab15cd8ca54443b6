"""Fixtures of the outbound-report tests: a local receiver on a free port and a worker pointed at it."""
from __future__ import annotations

import socket

import pytest

from app.outbound.receiver.app import ReceiverApp
from app.outbound.receiver.server import RunningReceiver
from app.outbound.sender import OutboundSender


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver(app_ctx):
    running = RunningReceiver(ReceiverApp(app_ctx.extensions["noc_outbound_settings"].secret)).start()
    yield running
    running.stop()


@pytest.fixture
def outbound_settings(app_ctx, receiver):
    return app_ctx.extensions["noc_outbound_settings"].with_(
        dispatch_url=f"{receiver.url}/dispatch", regulator_url=f"{receiver.url}/regulator",
        backoff_base_seconds=10, backoff_max_seconds=300, lease_seconds=60, timeout_seconds=5)


@pytest.fixture
def outbound_sender(app_ctx, outbound_settings):
    return OutboundSender(app_ctx, outbound_settings, name="test-outbound")
