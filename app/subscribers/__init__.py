"""Subscribers (用户) and the affected set of an incident's scope."""
