"""per_inference flag on tool mappings

Revision ID: 7a3e5c2d1f60
Revises: 5d1c0e7a9b42
Create Date: 2026-12-06 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '7a3e5c2d1f60'
down_revision = '5d1c0e7a9b42'
branch_labels = None
depends_on = None


def upgrade():
    # Existing mappings get False: they were all imported as run totals before this column existed.
    with op.batch_alter_table('tool_mappings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('per_inference', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('tool_mappings', schema=None) as batch_op:
        batch_op.drop_column('per_inference')
