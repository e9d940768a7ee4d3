"""A bare Flask app that echoes a JSON body: the baseline the service benchmarks compare to.

It does what any JSON endpoint must (parse the body, serialise a reply) and nothing else, so
the ratio of a service's rate to this one's is the cost of the service's own work.
"""

from __future__ import annotations

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask("simpul.bench.echo")

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json()), 201

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
