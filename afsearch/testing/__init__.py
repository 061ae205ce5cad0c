"""Throwaway servers for afsearch's tests and benchmarks: a PostgreSQL server started from the
machine's binaries.

Like ``optuna.testing``, a helper for afsearch's own tests and benchmarks rather than part of
the search API. It imports only the standard library::

    from afsearch.testing import PgServer, find_bin

    bindir = find_bin()  # None without PostgreSQL's binaries
    server = PgServer(bindir)
    server.start()
    try:
        ...  # use server.url; server.restart(), halt() and resume() for fault injection
    finally:
        server.stop()
"""

from afsearch.testing._pg import PgServer, find_bin

__all__ = ["PgServer", "find_bin"]
