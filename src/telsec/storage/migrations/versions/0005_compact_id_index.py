"""a compact unique index on 64-bit hashes of the object id and version

The unique index on (collection, id text, version text) took about 80 bytes a
version; random ids put every new version on a different page of it, so at a
million objects each 1,000-object write dirtied some 900 of its pages.  Two
8-byte hashes make the index a third of the size (models.StixObject).

Existing rows get their hashes here, computed in Python (BLAKE2b is in neither
database), a chunk at a time.  On SQLite the table is rebuilt to drop the old
constraint (batch mode; env.py turns foreign keys off for it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 20_000


def hash64(text: str) -> int:
    """telsec.storage.models.hash64 as of this revision (a stored format: frozen here)."""
    digest = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _fill_hashes() -> None:
    bind = op.get_bind()
    objects = sa.table(
        "stix_objects",
        sa.column("seq", sa.Integer),
        sa.column("stix_id", sa.String),
        sa.column("version", sa.String),
        sa.column("id_hash", sa.BigInteger),
        sa.column("version_hash", sa.BigInteger),
    )
    after = -1
    while True:
        rows = bind.execute(
            sa.select(objects.c.seq, objects.c.stix_id, objects.c.version)
            .where(objects.c.seq > after)
            .order_by(objects.c.seq)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        bind.execute(
            objects.update()
            .where(objects.c.seq == sa.bindparam("b_seq"))
            .values(id_hash=sa.bindparam("b_id"), version_hash=sa.bindparam("b_version")),
            [
                {"b_seq": seq, "b_id": hash64(stix_id), "b_version": hash64(version)}
                for seq, stix_id, version in rows
            ],
        )
        after = rows[-1][0]


def upgrade() -> None:
    op.add_column("stix_objects", sa.Column("id_hash", sa.BigInteger(), nullable=True))
    op.add_column("stix_objects", sa.Column("version_hash", sa.BigInteger(), nullable=True))
    _fill_hashes()
    with op.batch_alter_table("stix_objects") as batch:
        batch.alter_column("id_hash", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("version_hash", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint("uq_stix_objects_version", type_="unique")
        batch.create_unique_constraint(
            "uq_stix_objects_key", ["collection_pk", "id_hash", "version_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("stix_objects") as batch:
        batch.drop_constraint("uq_stix_objects_key", type_="unique")
        batch.create_unique_constraint(
            "uq_stix_objects_version", ["collection_pk", "stix_id", "version"]
        )
        batch.drop_column("version_hash")
        batch.drop_column("id_hash")
