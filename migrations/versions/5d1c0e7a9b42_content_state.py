"""content state token for page caches

Revision ID: 5d1c0e7a9b42
Revises: 0b66219ceac5
Create Date: 2026-12-04 23:00:00.000000

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '5d1c0e7a9b42'
down_revision = '0b66219ceac5'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('content_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_state'))
    )
    op.bulk_insert(table, [{'id': 1, 'token': secrets.randbits(62)}])


def downgrade():
    op.drop_table('content_state')
