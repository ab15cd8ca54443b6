"""compensation ledger header: credited subscribers, so current totals need no ledger scan

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-01 02:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0010'
branch_labels = None
depends_on = None

ENTRY_ID_BASE = 10_000_000_000


def upgrade():
    with op.batch_alter_table('compensation_ledgers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited_subscribers', sa.Integer(), nullable=True))
    # Existing headers: count their entries' credits as computed (version 1).
    op.execute(f"""
        UPDATE compensation_ledgers SET credited_subscribers = (
            SELECT count(*) FROM compensation_entries e
            WHERE e.id BETWEEN compensation_ledgers.incident_id * {ENTRY_ID_BASE}
                           AND compensation_ledgers.incident_id * {ENTRY_ID_BASE} + {ENTRY_ID_BASE - 1}
              AND (e.economic_credit_fen > 0 OR e.data_credit_gb > 0))""")
    with op.batch_alter_table('compensation_ledgers', schema=None) as batch_op:
        batch_op.alter_column('credited_subscribers', existing_type=sa.Integer(), nullable=False)


def downgrade():
    with op.batch_alter_table('compensation_ledgers', schema=None) as batch_op:
        batch_op.drop_column('credited_subscribers')
