"""notices.segments: the real SMS segment count of each notice as sent (per-subscriber texts);
a partial index on notices.claim_token (the sender loads its claimed chunk by token)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: a million-row outbox gains the column without a rewrite; NULL
    # means "not sent yet" (or sent before this revision: its batch text's count applies).
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.SmallInteger(), nullable=True))
    # Only claimed rows carry a token: the index holds the sends in flight, not the outbox.
    op.create_index('ix_notices_claim_token', 'notices', ['claim_token'], unique=False,
                    postgresql_where=sa.text('claim_token IS NOT NULL'),
                    sqlite_where=sa.text('claim_token IS NOT NULL'))


def downgrade():
    op.drop_index('ix_notices_claim_token', table_name='notices',
                  postgresql_where=sa.text('claim_token IS NOT NULL'), sqlite_where=sa.text('claim_token IS NOT NULL'))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('segments')
