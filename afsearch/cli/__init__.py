"""The ``afsearch`` command line: parse, call the library, print.

User errors (:class:`afsearch.exceptions.AfsearchError`) become one line on stderr and exit
status 2; nothing else is printed for them. Each module registers its commands on :data:`app`.
"""

# Imported in the order their commands appear in --help.
from afsearch.cli import _activations, _spaces, _launch, _query, _results  # noqa: F401, I001
from afsearch.cli import _distill, _analysis, _study  # noqa: F401
from afsearch.cli._common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
