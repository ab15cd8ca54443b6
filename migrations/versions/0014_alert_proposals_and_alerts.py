"""alert proposals and alerts

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-01 01:53:15

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=500), nullable=False),
    sa.Column('open_key', sa.String(length=500), nullable=True),
    sa.Column('group_labels', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('unmapped', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('alert_count', sa.Integer(), nullable=False),
    sa.Column('firing_count', sa.Integer(), nullable=False),
    sa.Column('first_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('dismiss_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'declared', 'dismissed')", name=op.f('ck_alert_proposals_state')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_alert_proposals_decided_by_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_alert_proposals_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_proposals')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alert_proposals_open_key'))
    )
    with op.batch_alter_table('alert_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_alert_proposals_state_id', ['state', 'id'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('annotations', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['alert_proposals.id'], name=op.f('fk_alerts_proposal_id_alert_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_alerts_fingerprint'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_proposal_status', ['proposal_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_proposal_status')

    op.drop_table('alerts')
    with op.batch_alter_table('alert_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_proposals_state_id')

    op.drop_table('alert_proposals')
