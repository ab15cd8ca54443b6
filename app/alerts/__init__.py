"""Alarms in (RULES §9): Alertmanager/Grafana alerts grouped into incident proposals."""
