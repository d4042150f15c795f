"""Storage: the node's database schema, engines and migrations.

Owns the SQLAlchemy 2 table definitions (:mod:`.models`), engine creation for the
embedded SQLite default (WAL) and for PostgreSQL through psycopg 3
(:mod:`.db`), and the Alembic migrations (``migrations/``).  Query logic for
STIX objects lives in :mod:`telsec.exchange.store`; for members in
:mod:`telsec.members`.
"""
