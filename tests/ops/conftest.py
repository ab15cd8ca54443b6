"""The notifier's fixtures (subscribers, a recovered incident) for the health and metrics tests."""
from tests.notify.conftest import declare, no_outage_notice, operator, policy_with, recovered_incident  # noqa: F401
