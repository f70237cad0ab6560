"""Deprecated alias of ``burr.integrations.persisters.b_psycopg2`` (kept for Apache Burr imports)."""

from burr.integrations.persisters.b_psycopg2 import PostgreSQLPersister

__all__ = ["PostgreSQLPersister"]
