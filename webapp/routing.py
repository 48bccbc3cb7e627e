"""URL converters of every route."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest id a database column holds (a BIGINT, SQLite's INTEGER).
MAX_ID = 2**63 - 1


class RowId(IntegerConverter):
    """`<int:...>` in every URL: a row's id. A larger number than a column holds
    matches no route (404): it is no row of ours, and SQLite would refuse it as
    a parameter (an OverflowError, a 500) before PostgreSQL said "no row"."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
