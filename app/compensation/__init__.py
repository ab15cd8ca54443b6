"""Compensation (补偿, RULES §5) and responsibility follow-up (责任通报, 整改, RULES §4)."""
