"""on-call: a chain per (deadline, cause: warning | breach), voice calls to tier 3 (oncall_calls)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oncall_escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.String(length=10), server_default='breach', nullable=False))
        batch_op.add_column(sa.Column('voice_called_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_oncall_escalations_deadline_id_tier', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_oncall_escalations_deadline_id_cause_tier'),
                                          ['deadline_id', 'cause', 'tier'])
    op.create_table('oncall_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=20), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['escalation_id'], ['oncall_escalations.id'], name=op.f('fk_oncall_calls_escalation_id_oncall_escalations')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_oncall_calls_incident_id_incidents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oncall_calls_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_calls')),
    sa.UniqueConstraint('escalation_id', 'user_id', name=op.f('uq_oncall_calls_escalation_id_user_id'))
    )
    op.create_index(op.f('ix_oncall_calls_status'), 'oncall_calls', ['status'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_oncall_calls_status'), table_name='oncall_calls')
    op.drop_table('oncall_calls')
    op.execute("DELETE FROM oncall_escalations WHERE cause <> 'breach'")
    with op.batch_alter_table('oncall_escalations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_oncall_escalations_deadline_id_cause_tier'), type_='unique')
        batch_op.create_unique_constraint('uq_oncall_escalations_deadline_id_tier', ['deadline_id', 'tier'])
        batch_op.drop_column('voice_called_at')
        batch_op.drop_column('cause')
