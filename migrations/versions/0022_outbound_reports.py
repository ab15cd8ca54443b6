"""outbound reports (上报 to the dispatch centre, regulator reports): signed, retried until acknowledged

Revision ID: 0022
Revises: 0016
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbound_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('receipt', sa.String(length=100), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_error', sa.String(length=300), nullable=True),
    sa.Column('first_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_outbound_reports_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_reports')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbound_reports_idempotency_key')),
    sa.UniqueConstraint('incident_id', 'target', 'revision', name=op.f('uq_outbound_reports_incident_id_target_revision'))
    )
    op.create_index(op.f('ix_outbound_reports_incident_id'), 'outbound_reports', ['incident_id'], unique=False)
    op.create_index('ix_outbound_reports_status_next_attempt_at', 'outbound_reports', ['status', 'next_attempt_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_outbound_reports_status_next_attempt_at', table_name='outbound_reports')
    op.drop_index(op.f('ix_outbound_reports_incident_id'), table_name='outbound_reports')
    op.drop_table('outbound_reports')
