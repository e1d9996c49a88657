"""The baseline of ``bench vote_throughput``: the cheapest useful write through Flask.

One POST endpoint inserting one row into ``bench_rows`` on the same PostgreSQL database, with a
pooled SQLAlchemy Core engine on the same driver (psycopg 3), answering JSON. Nothing else: no
host resolution, no session cookie, no ORM. Served by gunicorn as ``bare_app:app``
(``--pythonpath tests/benchmarks``) with ``BENCH_DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

DDL = (
    "CREATE TABLE IF NOT EXISTS bench_rows ("
    "id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
INSERT = text("INSERT INTO bench_rows (payload) VALUES (:payload) RETURNING id")

app = Flask(__name__)
engine = create_engine(
    os.environ["BENCH_DATABASE_URL"], pool_size=10, max_overflow=20, pool_pre_ping=True
)


@app.post("/rows")
def insert_row():
    payload = (request.get_json(silent=True) or {}).get("payload", "")
    with engine.begin() as conn:
        row_id = conn.execute(INSERT, {"payload": str(payload)[:200]}).scalar_one()
    return jsonify(id=row_id)
