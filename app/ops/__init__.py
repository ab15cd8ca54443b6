"""Operations: worker heartbeats, the truth /healthz tells, /metrics, log format and masking."""
