"""Messages to NOC staff (warnings and escalations): a durable outbox the SMS sender drains first."""
