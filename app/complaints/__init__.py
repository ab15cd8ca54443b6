"""Complaints (投诉) and appeals (申诉), RULES §8: registration, working-day limits, linking to incidents."""
