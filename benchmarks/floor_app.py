"""The floors of the HTTP benchmarks: a minimal Flask app on the same gunicorn and database.

* ``POST /floor/insert``: parses the same multipart form as the objection form and inserts one
  row (the least a submission can cost over HTTP);
* ``GET /floor/queue``: the bare keyset SQL page of the queue (50 ids on the (due_at, id)
  index) as plain text (the least the queue page can cost over HTTP).

    gunicorn -w 2 'floor_app:create()'   (DATABASE_URL set; run from benchmarks/)
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, request

PAGE = sa.text('SELECT id FROM "case" WHERE due_at IS NOT NULL ORDER BY due_at, id LIMIT 51')
INSERT = sa.text("INSERT INTO bench_floor (title, statement, size) VALUES (:t, :s, :n)")


def create() -> Flask:
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, pool_size=5)

    @app.post("/floor/insert")
    def insert():
        evidence = request.files.get("evidence")
        size = len(evidence.read()) if evidence else 0
        with engine.begin() as c:
            c.execute(INSERT, {"t": request.form["title"], "s": request.form["statement"], "n": size})
        return "", 302, {"Location": "/floor/done"}

    @app.get("/floor/queue")
    def queue():
        with engine.connect() as c:
            ids = c.execute(PAGE).scalars().all()
        return "\n".join(map(str, ids))

    return app
