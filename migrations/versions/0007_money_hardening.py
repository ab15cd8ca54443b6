"""money hardening: 64-bit user-minutes; two-step approval of capped compensation plans

Revision ID: 0007
Revises: 0012
Create Date: 2026-12-01 00:30:08.900490

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite adds a column with an inline REFERENCES in place,
    # where a batch copy would drop the ledger's never-overwrite triggers with the old table.
    op.add_column('compensation_versions', sa.Column('second_approval_required', sa.Boolean(),
                                                     server_default=sa.false(), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column('compensation_versions', sa.Column('first_approved_by', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_compensation_versions_first_approved_by_users'), 'compensation_versions',
                              'users', ['first_approved_by'], ['id'])
    else:
        op.execute("ALTER TABLE compensation_versions ADD COLUMN first_approved_by INTEGER "
                   "CONSTRAINT fk_compensation_versions_first_approved_by_users REFERENCES users (id)")
    op.add_column('compensation_versions', sa.Column('first_approved_at', sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # SQLite's INTEGER is already 64-bit (the model's variant says so).
        op.alter_column('incidents', 'user_minutes_at_recovery', existing_type=sa.INTEGER(), type_=sa.BigInteger(),
                        existing_nullable=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('incidents', 'user_minutes_at_recovery', existing_type=sa.BigInteger(), type_=sa.INTEGER(),
                        existing_nullable=True)
        op.drop_constraint(op.f('fk_compensation_versions_first_approved_by_users'), 'compensation_versions',
                           type_='foreignkey')
    for column in ('first_approved_at', 'first_approved_by', 'second_approval_required'):
        op.drop_column('compensation_versions', column)
