"""notices.segments: the real SMS segment count of each notice as sent (per-subscriber texts)

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: a million-row outbox gains the column without a rewrite; NULL
    # means "not sent yet" (or sent before this revision: its batch text's count applies).
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('segments')
