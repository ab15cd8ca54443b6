"""Incidents: declaration, grading, the lifecycle (闭环管理), responsibility and the timeline.

``service`` changes an incident's state (one unit of work per transition); ``flows`` is
what each transition does in the other domains, in order, inside that unit of work.
"""
