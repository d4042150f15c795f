"""federation: peers, their feeds, peer organisations and AMBER sharing

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table rebuild on SQLite
    op.add_column(
        "organisations",
        sa.Column("is_peer", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "grants",
        sa.Column("share_amber", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "peers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("ca_file", sa.Text(), nullable=True),
        sa.Column("cert_file", sa.Text(), nullable=True),
        sa.Column("key_file", sa.Text(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_peers_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peers")),
        sa.UniqueConstraint("name", name=op.f("uq_peers_name")),
    )
    op.create_table(
        "peer_feeds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("remote_collection", sa.String(length=100), nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=True),
        sa.Column("cursor_us", sa.BigInteger(), nullable=True),
        sa.Column("objects_url", sa.String(length=600), nullable=True),
        sa.Column("last_attempt_us", sa.BigInteger(), nullable=True),
        sa.Column("last_success_us", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["peers.id"], name=op.f("fk_peer_feeds_peer_id_peers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["collection_pk"],
            ["collections.id"],
            name=op.f("fk_peer_feeds_collection_pk_collections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_feeds")),
        sa.UniqueConstraint("peer_id", "remote_collection", name="uq_peer_feeds_remote"),
    )


def downgrade() -> None:
    op.drop_table("peer_feeds")
    op.drop_table("peers")
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("share_amber")
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("is_peer")
