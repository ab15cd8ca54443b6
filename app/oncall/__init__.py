"""The on-call roster (值班表): who is on duty at each escalation tier, shift by shift.

``service`` is the only writer of ``oncall_shifts``; other domains ask it who is on duty
(the staff-alert outbox routes a deadline warning or breach to tier 1's people on duty).
"""
