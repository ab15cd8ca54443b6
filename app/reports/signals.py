"""What the review workflow tells the other domains.

``analysis_report_submitted`` is sent inside the submission's transaction, before the
commit, with ``incident``, ``actor`` and ``submitted_at``: the scheduler connects it to
mark the ``analysis_report`` deadline met in the same unit of work.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

analysis_report_submitted = _signals.signal("analysis-report-submitted")
analysis_report_approved = _signals.signal("analysis-report-approved")
