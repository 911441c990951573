"""v2 baseline (the schema exists; made by vmdb init --to 2 and benchmarks/gen_v2.py)

Revision ID: 0001
"""
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
