"""the catalog: service codes and the region tree (province → city → district); existing free-text codes mapped or listed

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-01 03:50:00

Seeds the shipped catalog (the product's service codes and Zhejiang's tree, ``app/catalog/seed.py``),
then walks the codes already stored: a value that names a catalog entry another way ("hangzhou",
"杭州市", "宽带") is rewritten to its code; a value nothing knows is kept as it is, printed, and listed
in ``catalog_unmapped_codes`` for an admin (GET /api/v1/catalog/unmapped, the console's catalog page).
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    services = op.create_table('catalog_services',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_catalog_services'))
    )
    regions = op.create_table('catalog_regions',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_code', sa.String(length=60), nullable=True),
    sa.CheckConstraint("level IN ('province', 'city', 'district')", name=op.f('ck_catalog_regions_level_known')),
    sa.CheckConstraint("(level = 'province') = (parent_code IS NULL)", name=op.f('ck_catalog_regions_only_provinces_at_the_top')),
    sa.ForeignKeyConstraint(['parent_code'], ['catalog_regions.code'], name=op.f('fk_catalog_regions_parent_code_catalog_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_catalog_regions'))
    )
    op.create_index('ix_catalog_regions_parent_code', 'catalog_regions', ['parent_code'], unique=False)
    op.create_table('catalog_unmapped_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('service', 'region')", name=op.f('ck_catalog_unmapped_codes_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_unmapped_codes')),
    sa.UniqueConstraint('kind', 'code', 'source', name=op.f('uq_catalog_unmapped_codes_kind_code_source'))
    )
    op.add_column('complaints', sa.Column('region', sa.String(length=60), nullable=True))
    op.add_column('complaints', sa.Column('service', sa.String(length=40), nullable=True))
    from app.catalog import migration_0018
    migration_0018.seed_and_map(op.get_bind(), services, regions, datetime.now(timezone.utc))


def downgrade():
    with op.batch_alter_table('complaints') as batch_op:
        batch_op.drop_column('service')
        batch_op.drop_column('region')
    op.drop_table('catalog_unmapped_codes')
    op.drop_index('ix_catalog_regions_parent_code', table_name='catalog_regions')
    op.drop_table('catalog_regions')
    op.drop_table('catalog_services')
