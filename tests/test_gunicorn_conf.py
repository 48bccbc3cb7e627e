"""gunicorn.conf.py's worker hook: the app's objects are frozen out of the
garbage collector's sight once the worker has built its app."""

import gc
import runpy

from webapp.config import PROJECT_ROOT


def test_a_worker_freezes_what_it_has_built_before_serving():
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    kept = [object() for _ in range(1000)]  # alive, like an app's objects
    gc.unfreeze()
    try:
        settings["post_worker_init"](object())
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
