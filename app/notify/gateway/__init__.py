"""A local Twilio-compatible SMS gateway: the Messages API the twilio library calls, signed
status callbacks, and failures on demand. Part of the product for the quick start and tests."""
from app.notify.gateway.app import FailureRule, GatewayApp  # noqa: F401
