"""worker heartbeats; in-doubt claims on notices; claim leases on staff alerts

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-01 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('worker', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=80), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_worker_heartbeats'))
    )
    op.create_index('ix_worker_heartbeats_kind_beat_at', 'worker_heartbeats', ['kind', 'beat_at'], unique=False)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('staff_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True))
    # Alerts claimed the old way (token in provider_sid) go back to the queue.
    op.execute("UPDATE staff_alerts SET status = 'queued', provider_sid = NULL "
               "WHERE status = 'sending' AND provider_sid LIKE 'claim:%'")


def downgrade():
    with op.batch_alter_table('staff_alerts', schema=None) as batch_op:
        batch_op.drop_column('in_doubt_since')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('in_doubt_since')
        batch_op.drop_column('claimed_at')
    op.drop_index('ix_worker_heartbeats_kind_beat_at', table_name='worker_heartbeats')
    op.drop_table('worker_heartbeats')
