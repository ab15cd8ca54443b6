"""The fault analysis report (故障分析报告, RULES §7) and the cross-incident review.

``sections`` builds each section from the incident's own data (and, through
``providers``, from the deadline, notifier and compensation domains' report feeds); ``generator`` assembles them; ``render`` turns them into HTML, Markdown or
PDF; ``service`` owns the review workflow (versions, submit, approve).
"""
