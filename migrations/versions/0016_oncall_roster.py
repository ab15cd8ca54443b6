"""the on-call roster (值班表): shifts per person and tier; escalation steps per breached deadline and tier

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oncall_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_oncall_shifts_ends_after_starts')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_oncall_shifts_created_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oncall_shifts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_shifts')),
    sa.UniqueConstraint('user_id', 'tier', 'starts_at', name=op.f('uq_oncall_shifts_user_id_tier_starts_at'))
    )
    op.create_index('ix_oncall_shifts_tier_starts_at', 'oncall_shifts', ['tier', 'starts_at'], unique=False)
    op.create_index(op.f('ix_oncall_shifts_user_id'), 'oncall_shifts', ['user_id'], unique=False)
    op.create_table('oncall_escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], name=op.f('fk_oncall_escalations_acknowledged_by_users')),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], name=op.f('fk_oncall_escalations_deadline_id_deadlines')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_oncall_escalations_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_escalations')),
    sa.UniqueConstraint('deadline_id', 'tier', name=op.f('uq_oncall_escalations_deadline_id_tier'))
    )
    op.create_index(op.f('ix_oncall_escalations_deadline_id'), 'oncall_escalations', ['deadline_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_oncall_escalations_deadline_id'), table_name='oncall_escalations')
    op.drop_table('oncall_escalations')
    op.drop_index(op.f('ix_oncall_shifts_user_id'), table_name='oncall_shifts')
    op.drop_index('ix_oncall_shifts_tier_starts_at', table_name='oncall_shifts')
    op.drop_table('oncall_shifts')
