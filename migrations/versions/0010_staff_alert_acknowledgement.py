"""staff alerts: who acknowledged them and when

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_staff_alerts_acknowledged_by_users'), 'users',
                                    ['acknowledged_by'], ['id'])


def downgrade():
    with op.batch_alter_table('staff_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_alerts_acknowledged_by_users'), type_='foreignkey')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')
