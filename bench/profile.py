"""`make profile`: where the time of the benchmarked requests goes, by pyinstrument.

Sets up the same world as bench/run.py (a fresh PostgreSQL schema, Redis for the
limits, production settings) and profiles N requests of one case through the
test client in this process, then prints pyinstrument's call tree and writes an
HTML report next to the benchmark results.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench  # noqa: E402

# Plain http, like wrk: the test client would otherwise take the production
# PREFERRED_URL_SCHEME (https), and Flask-WTF then insists on a Referer.
BASE = "http://localhost"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["check", "page", "register", "login", "bare"])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--flat", type=int, default=0, help="also the N slowest functions (self)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="profile-")))
        schema, database_url = bench.create_schema(args.database_url)
        cleanup.callback(bench.drop_schema, args.database_url, schema)
        prefix = f"profile-{uuid.uuid4().hex[:8]}"
        cleanup.callback(bench.clear_redis, args.redis_url, prefix)
        os.environ.update(
            bench.server_environment(database_url, args.redis_url, workdir / "instance", prefix)
        )
        from webapp import create_app, deferred

        app = create_app({"SERVER_NAME": None})
        login_email = f"bench-login-{uuid.uuid4().hex[:8]}@example.com"
        bench.prepare(app, login_email)
        # The request lines go where bench/run.py sends them, not among the
        # profile (Alembic put a console handler on the root logger, too).
        logging.getLogger().handlers.clear()
        logging.getLogger("webapp.request").disabled = True

        # No cookie jar: production cookies are Secure, so a jar would not send them
        # over http; each request carries the session cookie itself, as wrk does.
        client = app.test_client(use_cookies=False)
        page = client.get(f"/{bench.TENANT}/register", base_url=BASE)
        cookie = next(
            c.split(";", 1)[0]
            for c in page.headers.getlist("Set-Cookie")
            if c.startswith("savitarna_session=")
        )
        token = bench.re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        case = next(
            c
            for c in bench.cases(cookie, token, login_email, uuid.uuid4().hex[:8])
            if c.name == args.case
        )

        def send(n: int):
            headers = dict(case.headers)
            if case.method == "GET":
                return client.get(case.path, headers=headers, base_url=BASE)
            return client.post(
                case.path,
                base_url=BASE,
                data=case.body.replace("__N__", str(n)),
                headers=headers,
                content_type="application/x-www-form-urlencoded",
            )

        for n in range(20):
            send(-n - 1)

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for n in range(args.requests):
            response = send(n)
        profiler.stop()
        print(f"{case.title}: last status {response.status_code}")
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))
            )
        )
        if args.flat:
            from pyinstrument.renderers import ConsoleRenderer

            flat = ConsoleRenderer(unicode=True, color=False, flat=True, time="percent_of_total")
            print("\n".join(profiler.output(flat).splitlines()[: args.flat]))
        bench.RESULTS.mkdir(parents=True, exist_ok=True)
        html = bench.RESULTS / f"profile-{args.case}.html"
        html.write_text(profiler.output_html())
        print(f"wrote {html}")
        # The work after the last answers (funnel counts, mail) ends before the
        # schema is dropped: a DROP beside its transaction deadlocked.
        deferred.wait_idle()
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
