"""Messages to NOC staff (warnings and escalations): a durable outbox the SMS sender drains first.

``service`` is its only writer: the deadline judge raises alerts there, and the SMS sender
claims, records and re-queues their delivery there.
"""
