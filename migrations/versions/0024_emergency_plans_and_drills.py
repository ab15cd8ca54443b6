"""emergency plans (应急预案), incidents citing them, and the drill (演练) flag on incidents

Revision ID: 0024
Revises: 0016
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite adds it in place; a batch copy would drop and re-create
    # the incidents table, which every other table references.
    op.add_column('incidents', sa.Column('drill', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('emergency_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('review_due_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_emergency_plans_created_by_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_emergency_plans_owner_id_users')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_emergency_plans_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_plans')),
    sa.UniqueConstraint('title', name=op.f('uq_emergency_plans_title'))
    )
    op.create_index(op.f('ix_emergency_plans_owner_id'), 'emergency_plans', ['owner_id'], unique=False)
    op.create_index(op.f('ix_emergency_plans_review_due_on'), 'emergency_plans', ['review_due_on'], unique=False)
    op.create_table('incident_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('cited_by', sa.Integer(), nullable=False),
    sa.Column('cited_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cited_by'], ['users.id'], name=op.f('fk_incident_plans_cited_by_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_plans_incident_id_incidents')),
    sa.ForeignKeyConstraint(['plan_id'], ['emergency_plans.id'], name=op.f('fk_incident_plans_plan_id_emergency_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_plans')),
    sa.UniqueConstraint('incident_id', 'plan_id', name=op.f('uq_incident_plans_incident_id_plan_id'))
    )
    op.create_index(op.f('ix_incident_plans_incident_id'), 'incident_plans', ['incident_id'], unique=False)
    op.create_index(op.f('ix_incident_plans_plan_id'), 'incident_plans', ['plan_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_incident_plans_plan_id'), table_name='incident_plans')
    op.drop_index(op.f('ix_incident_plans_incident_id'), table_name='incident_plans')
    op.drop_table('incident_plans')
    op.drop_index(op.f('ix_emergency_plans_review_due_on'), table_name='emergency_plans')
    op.drop_index(op.f('ix_emergency_plans_owner_id'), table_name='emergency_plans')
    op.drop_table('emergency_plans')
    op.drop_column('incidents', 'drill')   # SQLite 3.35+ drops a plain column in place
