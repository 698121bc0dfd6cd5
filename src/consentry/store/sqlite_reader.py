"""Stream a SQLite query as Arrow IPC from a child process (see ``arrow_io`` for why).

The child writes batches to its stdout as the parent reads them, so the pipe's back-pressure
keeps memory bounded; a failure in the child becomes an error in the parent with its message.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from consentry.errors import ConsentryError


class ChildReader:
    """A query running in its child process from construction on; iterate to get its batches."""

    def __init__(self, database: str, sql: str, batch_rows: int) -> None:
        self.database = database
        self.child = subprocess.Popen(
            [sys.executable, "-m", "consentry.store.sqlite_reader", database, str(batch_rows)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.child.stdin is not None
        self.child.stdin.write(sql.encode())
        self.child.stdin.close()
        # A reader dropped before it was read (an error upstream) must not leave its child
        # blocked on a full pipe with a read transaction open.
        weakref.finalize(self, _reap, self.child)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        child = self.child
        assert child.stdout is not None and child.stderr is not None
        broken: pa.ArrowInvalid | None = None
        try:
            yield from pa.ipc.open_stream(child.stdout)
        except pa.ArrowInvalid as exc:  # an empty or cut stream: the child's stderr says why
            broken = exc
        finally:
            child.stdout.close()
            errors = child.stderr.read().decode(errors="replace")
            child.stderr.close()
            status = child.wait()
        # -13 (SIGPIPE) only means that the reader stopped early.
        if status not in (0, -13) or broken is not None:
            reason = " ".join(errors.split()) or f"the reader process ended with status {status}"
            raise ConsentryError(f"reading {self.database} failed: {reason}") from broken


def _reap(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
        child.wait()
    for stream in (child.stdout, child.stderr):
        if stream is not None:
            stream.close()


BUSY_TIMEOUT_MS = 30_000
"""As the engine's own connections: a writer committing (or checkpointing) as the read starts
must not fail it with "database is locked"."""


def main() -> None:
    # The driver manager's low-level API, not its DB-API module: that one imports pandas
    # (through pyarrow.dataset), which cost the child most of its start-up.
    import adbc_driver_manager as manager
    import adbc_driver_sqlite as driver

    # A parent that stops reading early closes the pipe: die of SIGPIPE quietly (exit -13).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    database, batch_rows = sys.argv[1], sys.argv[2]
    sql = sys.stdin.read()
    try:
        _stream(driver, manager, database, batch_rows, sql)
    except manager.Error as exc:  # the driver's message, without this process's frames
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None


def _stream(driver: Any, manager: Any, database: str, batch_rows: str, sql: str) -> None:
    with (
        driver.connect(database) as db,
        manager.AdbcConnection(db) as conn,
        manager.AdbcStatement(conn) as statement,
    ):
        statement.set_sql_query(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        statement.execute_update()
        statement.set_options(**{driver.StatementOptions.BATCH_ROWS.value: batch_rows})
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        reader = pa.RecordBatchReader.from_stream(stream)
        with pa.ipc.new_stream(sys.stdout.buffer, reader.schema) as sink:
            for batch in reader:
                sink.write_batch(batch)


if __name__ == "__main__":
    main()
