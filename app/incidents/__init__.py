"""Incidents: declaration, grading, the lifecycle (闭环管理), responsibility and the timeline."""
