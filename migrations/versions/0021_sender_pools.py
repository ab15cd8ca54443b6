"""sender pools: sending identities with their global rate limiter; notices carry their deadline

Revision ID: 0021
Revises: 0016
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_sender_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('from_number', sa.String(length=20), nullable=True),
    sa.Column('messaging_service_sid', sa.String(length=40), nullable=True),
    sa.Column('segments_per_second', sa.Float(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('free_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_sender_identities')),
    sa.UniqueConstraint('name', name=op.f('uq_sms_sender_identities_name'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True))
    # Notices already queued get their batch's deadline, so they keep their place in line.
    op.execute("UPDATE notices SET deadline_at = (SELECT deadline_at FROM notice_batches "
               "WHERE notice_batches.id = notices.batch_id) WHERE status IN ('queued', 'sending')")
    op.create_index('ix_notices_due_by_deadline', 'notices', ['deadline_at', 'next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status = 'queued' AND deadline_at IS NOT NULL"),
                    sqlite_where=sa.text("status = 'queued' AND deadline_at IS NOT NULL"))


def downgrade():
    op.drop_index('ix_notices_due_by_deadline', table_name='notices',
                  postgresql_where=sa.text("status = 'queued' AND deadline_at IS NOT NULL"),
                  sqlite_where=sa.text("status = 'queued' AND deadline_at IS NOT NULL"))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('deadline_at')
    op.drop_table('sms_sender_identities')
