"""gunicorn settings for bench/gc_pauses.py: the project's gunicorn.conf.py, and
in each worker every garbage collection timed (gc.callbacks), written as one
JSON line to stderr when the worker exits. BENCH_GC_FREEZE=0 leaves out the
project's gc.freeze() (its post_worker_init), to measure without it."""

import gc
import json
import os
import sys
import time
from pathlib import Path

_project = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
exec(compile(_project.read_text(), str(_project), "exec"))  # noqa: S102 (our own file)
_project_post_worker_init = globals().get("post_worker_init")


def post_worker_init(worker):  # noqa: F811 (wraps the project's)
    started = time.perf_counter()
    if os.environ.get("BENCH_GC_FREEZE", "1") == "1" and _project_post_worker_init:
        _project_post_worker_init(worker)
    worker.bench_gc = {"init_ms": (time.perf_counter() - started) * 1000, "collections": []}
    worker.bench_gc_start = time.perf_counter()
    clock = {}

    def timed(phase, info):
        if phase == "start":
            clock["t"] = time.perf_counter()
            return
        worker.bench_gc["collections"].append(
            {
                "generation": info["generation"],
                "ms": (time.perf_counter() - clock["t"]) * 1000,
                "at_s": clock["t"] - worker.bench_gc_start,
            }
        )

    gc.callbacks.append(timed)


def worker_exit(server, worker):
    data = getattr(worker, "bench_gc", None)
    if data is not None:
        data["frozen"] = gc.get_freeze_count()
        print("BENCH_GC " + json.dumps(data), file=sys.stderr, flush=True)
