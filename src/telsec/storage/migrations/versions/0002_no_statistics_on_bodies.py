"""no planner statistics on STIX bodies (PostgreSQL)

No query filters on the JSONB body, so its statistics are never used, yet
ANALYZE would de-TOAST and summarise 30,000 sampled bodies every time the
table is analysed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stix_objects ALTER COLUMN body SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stix_objects ALTER COLUMN body SET STATISTICS -1")
