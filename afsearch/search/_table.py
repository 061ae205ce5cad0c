"""A table of trained activation functions: one row per function, task and training seed, in
one Parquet file, read back to replay search strategies as look-ups (:mod:`._replay`).

``benchmarks/make_table.py`` writes it and ``docs/TABLE.md`` describes it. The columns are
:data:`TABLE_COLUMNS`; the file's metadata (key ``afsearch``) holds what is needed to replay on it:
the search space the functions were drawn from (``families``), and per task its settings,
metric and mode.

>>> frame, meta = read_table("benchmarks/tables/activations.parquet")  # doctest: +SKIP
>>> frame.groupby(["task", "activation_id"]).value.mean()  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afsearch.exceptions import AfsearchError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from afsearch.search._init_signal import InitProbe

#: Version of the layout below; a reader refuses a table of another.
FORMAT = 1
#: The metadata key of the file.
META_KEY = b"afsearch"

#: Column -> Arrow type, in file order (docs/TABLE.md says what each holds).
TABLE_COLUMNS: dict[str, str] = {
    "function": "int32",
    "activation_id": "string",
    "kind": "string",
    "family": "string",
    "config": "string",
    "expression": "string",
    "trainable_params": "int16",
    "task": "string",
    "epochs": "int16",
    "metric": "string",
    "mode": "string",
    "seed": "int32",
    "value": "float64",
    "curve": "list<float32>",
    "test_value": "float64",
    "train_loss": "float64",
    "diverged": "bool",
    "error": "string",
    "seconds": "float32",
    "cost_time": "float32",
    "cost_memory": "float32",
    "screen": "string",
    "features": "list<float32>",
    "init_screen": "string",
    "init_ntk": "list<float32>",
}


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    if name.startswith("list<"):
        return pa.list_(_arrow_type(name[5:-1]))
    return {"string": pa.string(), "bool": pa.bool_()}.get(name) or getattr(pa, name)()


def write_table(
    rows: Sequence[Mapping[str, Any]], path: str | Path, meta: Mapping[str, Any]
) -> Path:
    """Write ``rows`` (mappings with every column of :data:`TABLE_COLUMNS`) to ``path`` as Parquet,
    zstd-compressed, with ``meta`` as the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(kind)) for name, kind in TABLE_COLUMNS.items()])
    missing = [c for c in TABLE_COLUMNS if rows and c not in rows[0]]
    if missing:
        raise AfsearchError(f"Table rows need every column; the first row lacks {missing[0]!r}.")
    columns = {c: [row[c] for row in rows] for c in TABLE_COLUMNS}
    table = pa.table(columns, schema=schema)
    blob = json.dumps({**meta, "format": FORMAT}, sort_keys=True, default=str)
    table = table.replace_schema_metadata({META_KEY: blob.encode()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table at ``path`` as a DataFrame, and its metadata."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise AfsearchError(
            f"There is no table at {str(path)!r}; make one with benchmarks/make_table.py."
        )
    try:
        parquet = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own types for a file that is not Parquet
        raise AfsearchError(
            f"{str(path)!r} is not a Parquet table ({type(exc).__name__}); give the file "
            "benchmarks/make_table.py wrote."
        ) from None
    raw = (parquet.schema.metadata or {}).get(META_KEY)
    meta = json.loads(raw) if raw else {}
    if meta.get("format") != FORMAT:
        raise AfsearchError(
            f"{str(path)!r} is not an afsearch table of format {FORMAT} (its metadata has "
            f"format {meta.get('format')!r}); make it again with benchmarks/make_table.py."
        )
    missing = [c for c in TABLE_COLUMNS if c not in parquet.column_names]
    if missing:
        raise AfsearchError(f"The table {str(path)!r} has no column {missing[0]!r}.")
    return parquet.to_pandas(), meta


def output_features(config: Mapping[str, Any]) -> np.ndarray | str:
    """The prescreen's output features of ``config`` (values and slopes at fixed points), or
    the reason the prescreen filters it out."""
    from afsearch.search._prescreen import features

    return features(config)


def init_signal(probe: InitProbe, config: Mapping[str, Any]) -> np.ndarray | str:
    """The init signal the prescreen adds with ``features: [outputs, init]``, measured by
    ``probe`` in its task's network, or the reason the network cannot train."""
    from afsearch.search._init_signal import KEPT

    got = probe.measure(config, (KEPT,))
    return got if isinstance(got, str) else got[KEPT]
