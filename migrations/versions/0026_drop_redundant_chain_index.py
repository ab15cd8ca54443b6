"""catch-up: drop the escalation steps' deadline_id index, which the unique (deadline_id, cause, tier)
already serves: one index write less per step the judge raises (70,000 at a start-up catch-up)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 05:35:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_oncall_escalations_deadline_id', table_name='oncall_escalations')


def downgrade():
    op.create_index('ix_oncall_escalations_deadline_id', 'oncall_escalations', ['deadline_id'], unique=False)
