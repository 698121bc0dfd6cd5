"""Stream a SQLite query as Arrow IPC from a child process (see ``arrow_io`` for why).

The child writes batches to its stdout as the parent reads them, so the pipe's back-pressure
keeps memory bounded; a failure in the child becomes an error in the parent with its message.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

from consentry.errors import ConsentryError


@contextmanager
def stream(database: str, sql: str, batch_rows: int) -> Iterator[pa.RecordBatchStreamReader]:
    child = subprocess.Popen(
        [sys.executable, "-m", "consentry.store.sqlite_reader", database, str(batch_rows)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    child.stdin.write(sql.encode())
    child.stdin.close()
    try:
        try:
            reader = pa.ipc.open_stream(child.stdout)
        except pa.ArrowInvalid as exc:
            child.wait()
            raise ConsentryError(
                f"reading {database} failed: {child.stderr.read().decode()}"
            ) from exc
        yield reader
    finally:
        child.stdout.close()
        if child.wait() not in (0, -13):  # -13: SIGPIPE when the parent stopped reading early
            raise ConsentryError(f"reading {database} failed: {child.stderr.read().decode()}")
        child.stderr.close()


def main() -> None:
    import adbc_driver_sqlite.dbapi as driver

    database, batch_rows = sys.argv[1], sys.argv[2]
    sql = sys.stdin.read()
    conn = driver.connect(database)
    try:
        cursor = conn.cursor()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": batch_rows})
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as sink:
            for batch in reader:
                sink.write_batch(batch)
        cursor.close()
    finally:
        conn.close()


if __name__ == "__main__":
    main()
