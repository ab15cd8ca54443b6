"""is my line affected? (POST /status/lookup): codes and their SMS lane, DB-backed rate limits, lookup counts per day and per incident

Revision ID: 0019
Revises: 0024
Create Date: 2026-12-01 03:40:46.138357

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_lookup_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requested', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('rate_limited', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_status_lookup_days'))
    )
    op.create_table('status_lookup_limits',
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'subject', 'window_start', name=op.f('pk_status_lookup_limits'))
    )
    with op.batch_alter_table('status_lookup_limits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lookup_limits_window_start'), ['window_start'], unique=False)

    op.create_table('status_lookup_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_code', sa.Integer(), nullable=True),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('wrong_attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_status_lookup_codes_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lookup_codes'))
    )
    with op.batch_alter_table('status_lookup_codes', schema=None) as batch_op:
        batch_op.create_index('ix_status_lookup_codes_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_status_lookup_codes_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_status_lookup_codes_phone_id', ['phone', 'id'], unique=False)

    op.create_table('status_lookup_incident_days',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requested', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('affected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_status_lookup_incident_days_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'day', name=op.f('pk_status_lookup_incident_days'))
    )


def downgrade():
    op.drop_table('status_lookup_incident_days')
    with op.batch_alter_table('status_lookup_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_status_lookup_codes_phone_id')
        batch_op.drop_index('ix_status_lookup_codes_expires_at')
        batch_op.drop_index('ix_status_lookup_codes_due')

    op.drop_table('status_lookup_codes')
    with op.batch_alter_table('status_lookup_limits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lookup_limits_window_start'))

    op.drop_table('status_lookup_limits')
    op.drop_table('status_lookup_days')
