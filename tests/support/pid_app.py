"""A WSGI app that answers which worker process it runs in (X-Worker), for
tests of gunicorn.conf.py's worker model."""

import os


def app(environ, start_response):
    start_response("200 OK", [("X-Worker", str(os.getpid())), ("Content-Length", "0")])
    return [b""]
