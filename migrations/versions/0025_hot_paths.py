"""hot paths: compensation notices as a follow-up job, a partial complaint index on notices,
ledger entries partitioned per incident (PostgreSQL), a data-version token for subscribers

Revision ID: 0025
Revises: 0018 (0016 on main; the lead re-chains)
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa

from app.db_types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0021'
branch_labels = None
depends_on = None

VERSIONED_TABLES = ("subscribers", "subscriber_services")
# Upsert, not UPDATE: the row may be missing (a database emptied table by table).
BUMP = ("INSERT INTO subscriber_data_versions (name, version) VALUES ('subscribers', {token}) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version")
PG_TOKEN = "(random() * 9000000000000000000)::bigint"
SQLITE_TOKEN = "random()"


def upgrade():
    with op.batch_alter_table('compensation_ledgers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notices_queued_at', UTCDateTime(), nullable=True))
    # Ledgers already there had their notices queued in their closing transaction.
    op.execute("UPDATE compensation_ledgers SET notices_queued_at = finalised_at")

    # The complaint key of notices only where there is a complaint: a full unique index cost an
    # entry (of NULLs) on each of the million rows an incident notice inserts.
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notices_complaint_id_kind_sequence', type_='unique')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('uq_notices_complaint_id_kind_sequence', ['complaint_id', 'kind', 'sequence'], unique=True,
                              postgresql_where=sa.text('complaint_id IS NOT NULL'),
                              sqlite_where=sa.text('complaint_id IS NOT NULL'))

    _partition_ledger_entries()

    op.create_table(
        'subscriber_data_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_subscriber_data_versions')),
    )
    _create_version_triggers()


ENTRY_ID_BASE = 10_000_000_000
FK_VERSIONS = "fk_compensation_versions_entry_id_compensation_entries"
ENTRIES_GUARD = ("CREATE TRIGGER compensation_entries_immutable BEFORE UPDATE OR DELETE ON compensation_entries "
                 "FOR EACH ROW EXECUTE FUNCTION compensation_entries_immutable()")


def _partition_ledger_entries():
    """PostgreSQL: compensation_entries becomes a table partitioned by id range, one partition per
    incident (app/compensation/partitions.py); existing entries move to their incident's partition."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE compensation_versions DROP CONSTRAINT {FK_VERSIONS}")
    op.execute("DROP TRIGGER compensation_entries_immutable ON compensation_entries")
    op.execute("ALTER TABLE compensation_entries RENAME TO compensation_entries_unpartitioned")
    op.execute("ALTER TABLE compensation_entries_unpartitioned RENAME CONSTRAINT pk_compensation_entries "
               "TO pk_compensation_entries_unpartitioned")
    op.execute("CREATE TABLE compensation_entries (LIKE compensation_entries_unpartitioned INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS) PARTITION BY RANGE (id)")
    op.execute("ALTER TABLE compensation_entries ADD CONSTRAINT pk_compensation_entries PRIMARY KEY (id)")
    incidents = [row[0] for row in op.get_bind().execute(sa.text(
        "SELECT DISTINCT incident_id FROM compensation_entries_unpartitioned ORDER BY 1"))]
    for incident_id in incidents:
        low = incident_id * ENTRY_ID_BASE
        op.execute(f"CREATE TABLE compensation_entries_i{incident_id} PARTITION OF compensation_entries "
                   f"FOR VALUES FROM ({low}) TO ({low + ENTRY_ID_BASE})")
    op.execute("INSERT INTO compensation_entries SELECT * FROM compensation_entries_unpartitioned")
    op.execute("DROP TABLE compensation_entries_unpartitioned")
    op.execute(ENTRIES_GUARD)
    op.execute(f"ALTER TABLE compensation_versions ADD CONSTRAINT {FK_VERSIONS} FOREIGN KEY (entry_id) "
               "REFERENCES compensation_entries (id)")


def _unpartition_ledger_entries():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE compensation_versions DROP CONSTRAINT {FK_VERSIONS}")
    op.execute("ALTER TABLE compensation_entries RENAME TO compensation_entries_partitioned")
    op.execute("ALTER TABLE compensation_entries_partitioned RENAME CONSTRAINT pk_compensation_entries "
               "TO pk_compensation_entries_partitioned")
    op.execute("CREATE TABLE compensation_entries (LIKE compensation_entries_partitioned INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS)")
    op.execute("ALTER TABLE compensation_entries ADD CONSTRAINT pk_compensation_entries PRIMARY KEY (id)")
    op.execute("INSERT INTO compensation_entries SELECT * FROM compensation_entries_partitioned")
    op.execute("DROP TABLE compensation_entries_partitioned")  # and its partitions
    op.execute(ENTRIES_GUARD)
    op.execute(f"ALTER TABLE compensation_versions ADD CONSTRAINT {FK_VERSIONS} FOREIGN KEY (entry_id) "
               "REFERENCES compensation_entries (id)")


def _create_version_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION bump_subscriber_data_version() RETURNS trigger AS $$
            BEGIN
                {BUMP.format(token=PG_TOKEN)};
                RETURN NULL;
            END
            $$ LANGUAGE plpgsql
        """)
        for table in VERSIONED_TABLES:
            # Once per statement: a million-row import pays for one row write, not a million.
            op.execute(f"""
                CREATE TRIGGER {table}_data_version
                AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION bump_subscriber_data_version()
            """)
        return
    for table in VERSIONED_TABLES:
        for action in ("INSERT", "UPDATE", "DELETE"):
            # SQLite has row triggers only (its bulk paths are small; PostgreSQL is the big one).
            op.execute(f"""
                CREATE TRIGGER {table}_data_version_{action.lower()}
                AFTER {action} ON {table}
                BEGIN
                    {BUMP.format(token=SQLITE_TOKEN)};
                END
            """)


def _drop_version_triggers():
    if op.get_bind().dialect.name == "postgresql":
        for table in VERSIONED_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_subscriber_data_version()")
        return
    for table in VERSIONED_TABLES:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version_{action}")


def downgrade():
    _drop_version_triggers()
    _unpartition_ledger_entries()
    op.drop_table('subscriber_data_versions')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('uq_notices_complaint_id_kind_sequence')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_notices_complaint_id_kind_sequence', ['complaint_id', 'kind', 'sequence'])
    with op.batch_alter_table('compensation_ledgers', schema=None) as batch_op:
        batch_op.drop_column('notices_queued_at')
