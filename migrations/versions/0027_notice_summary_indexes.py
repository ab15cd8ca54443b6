"""notice counts per change, not per view: the change version and the last-minute rate of notices

Revision ID: 0027
Revises: 0020 (main's head after 0025; the lead re-chains)
Create Date: 2026-12-01 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        # the latest updated_at of an incident's notices: its change version (one entry)
        batch_op.create_index('ix_notices_incident_updated', ['incident_id', 'updated_at'], unique=False)
        # a notice's last-minute rate reads that minute's acceptances only
        batch_op.create_index('ix_notices_batch_accepted', ['batch_id', 'accepted_at'], unique=False,
                              postgresql_where=sa.text('accepted_at IS NOT NULL'),
                              sqlite_where=sa.text('accepted_at IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_batch_accepted', postgresql_where=sa.text('accepted_at IS NOT NULL'),
                            sqlite_where=sa.text('accepted_at IS NOT NULL'))
        batch_op.drop_index('ix_notices_incident_updated')
