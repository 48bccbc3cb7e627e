"""gunicorn settings for Savitarna: `gunicorn wsgi:app` (or `make serve`) reads
this file from the working directory. Every value can be changed by the
environment variable named beside it, or by a gunicorn command-line option,
which wins over this file.

Worker model: gthread, one process per core, a few threads each.
Registration is bound by argon2 (about 20 MiB and tens of milliseconds of CPU
per hash), so more processes than cores only adds memory and contention. But
argon2-cffi hashes in C with the GIL released, and most other requests wait on
PostgreSQL or Redis, so a few threads per process let the cheap requests (the
per-field checks, page views, health probes) go on while a hash runs. With sync
workers one registration would hold a whole process and everything queued
behind it. Threads share nothing the app keeps per request (Flask's contexts
and SQLAlchemy's scoped session are per thread).
"""

import os


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this container may use
    except AttributeError:
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Where to listen. Behind a reverse proxy on the same host keep 127.0.0.1;
# in a container use BIND=0.0.0.0:8000.
bind = [os.environ.get("BIND", f"127.0.0.1:{_int('PORT', 8000)}")]

workers = _int("WEB_CONCURRENCY", _cpus())
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel
# spreads new connections over them. On one shared socket whichever worker was
# quickest to accept took them, and a keep-alive connection stays in the worker
# that took it: of 32 connections opened at once (a proxy's pool, a load test),
# one worker often held 24 to all 32 while the other core idled (/healthz at 32
# clients: 1,100 to 2,900 requests a second from one run to the next; 3,100 to
# 3,500 with this; README, "Benchmark"). When a worker stops (a reload, a
# restart) the connections waiting on its socket are reset unless the kernel
# moves them to another worker: set net.ipv4.tcp_migrate_req=1 (Linux 5.14+).
# GUNICORN_REUSE_PORT=0 goes back to one shared socket.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1").strip().lower() not in {"0", "false", "no"}

# A request that takes longer than this is stuck: the worker is restarted.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (a deploy, a scale-in) requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive towards the reverse proxy, which reuses connections.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Each worker builds its own app after the fork, so no database, Redis or SMTP
# connection and no thread is ever shared between processes.
preload_app = False

# The access log is the app's own: one JSON line per request on stdout with
# method, path, status, duration_ms, request_id and tenant (webapp/logs.py).
# gunicorn's access log is off because it would print the secret of emailed
# links (/confirm/<token>) and cannot know the tenant. gunicorn's own messages
# (start, stop, worker restarts) go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Forwarded headers are trusted in one place only, the app's ProxyFix
# (TRUSTED_PROXIES); gunicorn's own trust of X-Forwarded-Proto is switched off.
forwarded_allow_ips = ""
secure_scheme_headers = {}

proc_name = "savitarna"
# gunicorn 25+ opens a control socket at one fixed path per user, which two
# instances on one host would fight over; processes are managed by signals
# (HUP reloads, TERM stops gracefully). Older versions ignore the setting.
control_socket_disable = True
# The heartbeat file on a RAM disk where there is one (containers' /tmp may be
# a slow overlay filesystem).
if os.path.isdir("/dev/shm"):  # noqa: S108 (a fixed RAM disk, not a temporary file)
    worker_tmp_dir = "/dev/shm"  # noqa: S108


def post_worker_init(worker):
    """Once the worker has built its app: one full collection, then every object
    alive (the app, its templates, catalogues, SQLAlchemy's mappers: some 160,000)
    is moved out of the garbage collector's sight (gc.freeze). Without it the
    first full collection came a second or so into the worker's life, while it
    served requests, and took 0.25-1 s on this project's busy machine; with it
    that collection runs here, before the worker takes a request, and later full
    collections scan only what requests left behind (2 ms instead of 240 ms,
    measured with gc.callbacks in the worker; README, "Benchmark")."""
    import gc

    gc.collect()
    gc.freeze()
