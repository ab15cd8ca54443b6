"""catch-up: an escalation step's incident is its deadline's (no foreign key of its own); staff alerts
lose the incident_id index nothing reads — two writes less per row the judge inserts (70,000 each at a
start-up catch-up)

Revision ID: 0030
Revises: 0026
Create Date: 2026-12-01 08:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oncall_escalations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_oncall_escalations_incident_id_incidents', type_='foreignkey')
    op.drop_index('ix_staff_alerts_incident_id', table_name='staff_alerts')


def downgrade():
    op.create_index('ix_staff_alerts_incident_id', 'staff_alerts', ['incident_id'], unique=False)
    with op.batch_alter_table('oncall_escalations', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_oncall_escalations_incident_id_incidents', 'incidents',
                                    ['incident_id'], ['id'])
