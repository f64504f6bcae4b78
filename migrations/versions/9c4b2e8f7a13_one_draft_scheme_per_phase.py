"""at most one draft rating scheme per phase

Revision ID: 9c4b2e8f7a13
Revises: 7a3e5c2d1f60
Create Date: 2026-12-05 00:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '9c4b2e8f7a13'
down_revision = '7a3e5c2d1f60'
branch_labels = None
depends_on = None

# Drafts of a phase that has an older draft: the app only ever edited and published the oldest one.
_LATER_DRAFTS = (
    "SELECT id FROM rating_schemes AS later WHERE status = 'draft' AND EXISTS ("
    "SELECT 1 FROM rating_schemes AS older WHERE older.phase = later.phase AND older.status = 'draft' "
    "AND older.id < later.id)"
)


def upgrade():
    op.execute(f"DELETE FROM scheme_entries WHERE scheme_id IN ({_LATER_DRAFTS})")
    op.execute(f"DELETE FROM rating_schemes WHERE id IN ({_LATER_DRAFTS})")
    with op.batch_alter_table('rating_schemes', schema=None) as batch_op:
        batch_op.create_index('uq_rating_schemes_one_draft_per_phase', ['phase'], unique=True,
                              sqlite_where=sa.text("status = 'draft'"), postgresql_where=sa.text("status = 'draft'"))


def downgrade():
    with op.batch_alter_table('rating_schemes', schema=None) as batch_op:
        batch_op.drop_index('uq_rating_schemes_one_draft_per_phase',
                            sqlite_where=sa.text("status = 'draft'"), postgresql_where=sa.text("status = 'draft'"))
