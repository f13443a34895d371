"""PatientContextProvider: one asyncpg pool, read-only timed lookups, and an audit row per read.

LiveKit runs a worker's ``prewarm`` before the job's event loop exists, and an asyncpg pool is
bound to the loop that created it. Create the provider in the job's entrypoint and close it in a
shutdown callback::

    async def entrypoint(ctx: JobContext) -> None:
        provider = await PatientContextProvider.connect(os.environ["DATABASE_URL"])
        ctx.add_shutdown_callback(provider.aclose)
        context = await provider.get_patient_context(patient_id, job_id=ctx.job.id)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Awaitable, Callable
from ssl import SSLCertVerificationError, SSLContext
from types import TracebackType
from typing import Literal, Self, TypeAlias, TypeGuard, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..errors import PatientContextError, PatientContextUnavailable
from ..log import logger
from ..privacy import hash_patient_id
from . import migrations
from .models import AvatarConfig, PatientContext, Row, avatar_from_row, patient_from_rows
from .outage import OutageLog
from .queries import PATIENT_COLUMNS, REFERENCE_QUERIES, SECTION_COLUMNS, PatientQueries
from .tls import tls_for

__all__ = ["DEFAULT_PURPOSE", "PatientContextProvider", "PoolMode"]

DEFAULT_PURPOSE = "clinic-agent-conversation"
"""The purpose recorded in the access audit when the caller names none."""

PoolMode: TypeAlias = Literal["session", "transaction"]
"""How the server connections behind the DSN are shared, in PgBouncer's words: ``"session"`` for
a direct connection (or a session-mode pooler), ``"transaction"`` for a transaction-mode pooler."""

_T = TypeVar("_T")
_Conn: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"  # generic in the stubs only
_MAX_LABEL = 200
# Migrations may wait on the advisory lock while another worker migrates.
_MIGRATE_TIMEOUT_S = 60.0
_APPLICATION_NAME = "livekit-plugins-medvision"
# After a failed or timed-out read: how long the rollback (which first waits for the server to
# cancel the statement) may add to the lookup before the connection is dropped instead.
_ROLLBACK_GRACE_S = 1.0


# Errors that mean "the database cannot answer now": down, restarting, refusing, cancelled.
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # statement timeout, admin shutdown, cannot connect now
    asyncpg.InsufficientResourcesError,  # too many connections
    asyncpg.ConnectionDoesNotExistError,  # connection lost mid-query
)


class PatientContextProvider:
    """Reads patient context and avatar configuration through one asyncpg pool.

    ``await PatientContextProvider.connect(dsn)`` creates a pool that the provider owns and
    closes; ``PatientContextProvider(pool)`` wraps a pool the caller owns and never closes it.
    Either way, ``provider.pool`` is the pool (the cost ledger is written through it).

    Each lookup runs in a read-only transaction with a server-side statement timeout, inside an
    overall time limit that also covers waiting for a connection. A database that is down, slow
    or refusing connections raises ``PatientContextUnavailable`` within that limit, and the pool
    reconnects by itself once the server is back. Error messages and log lines never carry
    patient data: a hashed patient id at most.

    Create it in the job's entrypoint, not in ``prewarm`` (which runs before the job's event loop
    exists), and close it in a shutdown callback.
    """

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        queries: PatientQueries = REFERENCE_QUERIES,
        audit: bool = True,
        statement_timeout: float = 2.0,
        lookup_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap ``pool``, which the caller owns (``aclose()`` leaves it open).

        Args:
            pool: An asyncpg pool on the patient database.
            queries: The SQL to run; the reference schema's by default.
            audit: Write an access-audit row for every patient-context read (``queries.audit``);
                turn off only for schemas that audit reads elsewhere.
            statement_timeout: Server-side limit of each statement, in seconds.
            lookup_timeout: Limit of a whole lookup in seconds, including the wait for a connection.
            clock: Monotonic seconds, timing outages in the log (injectable for tests).

        Raises:
            ValueError: an option out of range, or ``audit`` on with no audit query.
        """
        _check_queries(queries, audit=audit)
        self._pool = pool
        self._queries = queries
        self._audit_sql = queries.audit if audit else None
        timeout_ms = math.ceil(_seconds("statement_timeout", statement_timeout) * 1000)
        # One simple-protocol round trip for both; the number is ours, never caller text.
        self._begin_sql = f"BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout_ms}"
        self._timeout = _seconds("lookup_timeout", lookup_timeout)
        self._id_patterns = {
            "patient_id": re.compile(queries.patient_id_pattern),
            "clinic_id": re.compile(queries.clinic_id_pattern),
        }
        self._lookup_sql = queries.lookup_statement()
        self._owns_pool = False
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._releasing: set[asyncio.Task[None]] = set()
        self._outage = OutageLog(clock=clock)

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 2,
        command_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        statement_timeout: float = 2.0,
        lookup_timeout: float = 5.0,
        audit: bool = True,
        queries: PatientQueries = REFERENCE_QUERIES,
        ssl: SSLContext | None = None,
        pool_mode: PoolMode = "session",
        clock: Callable[[], float] = time.monotonic,
    ) -> Self:
        """Create a pool on ``dsn`` and a provider that owns it (``aclose()`` closes it).

        The pool sizes fit one call in one process (LiveKit runs a job per process): one
        connection opened up front, so a wrong DSN fails the job's start and the first lookup
        pays no connect, and a second one for a read that overlaps it (the avatar configuration,
        the ledger row). A host of N calls then holds N to 2N server connections, or shares a
        few through a transaction-mode PgBouncer (``pool_mode="transaction"``).

        Args:
            dsn: A PostgreSQL connection URI, such as ``DATABASE_URL``.
            min_size: Connections opened up front and kept.
            max_size: Most connections the pool opens; the server never sees more from it.
            command_timeout: Client-side limit of each statement, in seconds.
            connect_timeout: Limit of opening one connection, in seconds.
            statement_timeout: Server-side limit of each statement, in seconds.
            lookup_timeout: Limit of a whole lookup in seconds, including the wait for a connection.
            audit: Write an access-audit row for every patient-context read.
            queries: The SQL to run; the reference schema's by default.
            ssl: TLS settings, which take precedence over the DSN's. ``None``: the DSN's
                ``sslmode`` if it names one, else verify-full over TCP (the server's certificate
                must chain to the system's trust store, or to the DSN's ``sslrootcert``, and
                name the host). A setting weaker than verify-full to a host that is not loopback
                logs a warning.
            pool_mode: ``"transaction"`` when ``dsn`` goes through a transaction-mode pooler
                (PgBouncer ``pool_mode = transaction``): asyncpg's prepared-statement cache is
                turned off, since consecutive transactions may run on different server
                connections, and the session reset on release is skipped. Each read, audit
                row and migration is one transaction or a single statement, so all of the
                provider, ``migrate()`` included, works through such a pooler.
            clock: Monotonic seconds, timing outages in the log (injectable for tests).

        Raises:
            ValueError: an option out of range, or a ``dsn`` or ``ssl`` asyncpg cannot use.
            PatientContextUnavailable: the pool's first connections could not be opened.
            PatientContextError: the server's TLS certificate could not be verified.
        """
        if not _is_text(dsn):
            raise ValueError("dsn must be a non-empty PostgreSQL connection string")
        for name, value in (("min_size", min_size), ("max_size", max_size)):
            if not _is_int(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if max_size < 1 or min_size > max_size:
            raise ValueError("max_size must be at least 1 and at least min_size")
        # Check the remaining options before opening anything.
        for name, seconds in (
            ("command_timeout", command_timeout),
            ("connect_timeout", connect_timeout),
            ("statement_timeout", statement_timeout),
            ("lookup_timeout", lookup_timeout),
        ):
            _seconds(name, seconds)
        _check_queries(queries, audit=audit)
        if pool_mode not in ("session", "transaction"):
            raise ValueError('pool_mode must be "session" or "transaction"')
        try:
            tls = tls_for(dsn, ssl)
        except ValueError as exc:  # its message never quotes the DSN
            raise ValueError(f"dsn: {exc}") from None
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                command_timeout=command_timeout,
                timeout=connect_timeout,
                ssl=tls,
                server_settings={"application_name": _APPLICATION_NAME},
                statement_cache_size=0 if pool_mode == "transaction" else 100,
                # through a transaction pooler the session belongs to no one: asyncpg's reset
                # (RESET ALL, unlock advisory locks...) would cost a round trip on whichever
                # server connection PgBouncer picks; a transaction left open is still rolled back
                reset=_keep_session if pool_mode == "transaction" else None,
            )
        except SSLCertVerificationError as exc:  # a ValueError too: caught first
            raise PatientContextError(
                f"the database server's TLS certificate was refused ({exc.verify_message}): "
                "trust its authority (ssl= or sslrootcert=) and connect by the name it carries"
            ) from None
        except ValueError as exc:  # includes asyncpg's ClientConfigurationError
            # not the message: it can quote the DSN, password included
            raise ValueError(
                f"dsn or ssl: not valid connection settings ({type(exc).__name__})"
            ) from None
        except (
            *_UNAVAILABLE,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as exc:
            raise PatientContextUnavailable(
                f"could not open the patient database pool ({type(exc).__name__})"
            ) from None
        provider = cls(
            pool,
            queries=queries,
            audit=audit,
            statement_timeout=statement_timeout,
            lookup_timeout=lookup_timeout,
            clock=clock,
        )
        provider._owns_pool = True
        return provider

    @property
    def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        """The asyncpg pool the provider reads through."""
        return self._pool

    @property
    def queries(self) -> PatientQueries:
        """The SQL the provider runs."""
        return self._queries

    async def migrate(self) -> list[str]:
        """Create or update the reference schema; return the migrations applied (often none).

        Safe when several workers start at once: an advisory lock serialises them.

        Raises:
            PatientContextUnavailable: the database cannot be reached.
            PatientContextError: a migration failed (nothing of it is left behind).
        """
        return await self._guard("migrate", _MIGRATE_TIMEOUT_S, self._migrate)

    async def seed_demo(self) -> None:
        """Apply the migrations, then insert the demo clinic and fictional patients, once.

        Raises:
            PatientContextUnavailable: the database cannot be reached.
            PatientContextError: the seed failed.
        """
        await self.migrate()
        await self._guard("seed the demo data", _MIGRATE_TIMEOUT_S, self._seed_demo)

    async def get_patient_context(
        self,
        patient_id: str,
        *,
        job_id: str | None = None,
        room_name: str | None = None,
        purpose: str = DEFAULT_PURPOSE,
    ) -> PatientContext | None:
        """Return what the agent may know about ``patient_id``, or ``None`` for an unknown id.

        The read is audited (patient, job, room, purpose) when auditing is on: the context is
        returned only once its audit row has committed, and a read whose audit row did not
        commit fails. The read runs in a read-only transaction that commits nothing, so the audit
        row is the lookup's only write: it exists exactly when the lookup succeeded.

        Args:
            patient_id: The patient's id; must match ``queries.patient_id_pattern``.
            job_id: The LiveKit job reading the record, for the audit.
            room_name: The LiveKit room of the conversation, for the audit.
            purpose: Why the record is read, for the audit.

        Raises:
            ValueError: an ill-formed ``patient_id`` (checked before any query) or a bad label.
            PatientContextUnavailable: the database is down, slow or refusing connections.
            PatientContextError: a query failed, returned rows of the wrong shape, or any other
                database fault (no asyncpg exception leaves the provider).
        """
        self._check_id("patient_id", patient_id)
        for name, value in (("job_id", job_id), ("room_name", room_name)):
            if value is not None:
                _check_label(name, value)
        _check_label("purpose", purpose)
        patient_hash = hash_patient_id(patient_id)
        started = time.perf_counter()

        async def read(conn: _Conn) -> PatientContext | None:
            context = await self._read_patient(conn, patient_id)
            if self._audit_sql is not None:
                await conn.execute(
                    self._audit_sql, patient_id, context is not None, job_id, room_name, purpose
                )
            return context

        context = await self._guard(
            "patient context", self._timeout, lambda: self._with_connection(read), patient_hash
        )
        logger.debug(
            "patient context read",
            extra={
                "patient_hash": patient_hash,
                "found": context is not None,
                "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return context

    async def get_avatar_config(self, clinic_id: str) -> AvatarConfig | None:
        """Return the clinic's avatar configuration (the enabled one first), or ``None``.

        Args:
            clinic_id: The clinic's id; must match ``queries.clinic_id_pattern``.

        Raises:
            ValueError: an ill-formed ``clinic_id``.
            PatientContextUnavailable: the database is down, slow or refusing connections.
            PatientContextError: the query failed or returned a row of the wrong shape.
        """
        self._check_id("clinic_id", clinic_id)
        query = self._queries.avatar_config
        if query is None:
            return None

        async def read(conn: _Conn) -> AvatarConfig | None:
            row = await self._fetch_read_only(conn, query, clinic_id)
            return None if row is None else avatar_from_row(clinic_id, self._row(row))

        return await self._guard(
            "avatar configuration", self._timeout, lambda: self._with_connection(read)
        )

    async def aclose(self) -> None:
        """Stop accepting lookups and close the pool if the provider created it; idempotent.

        Lookups in flight finish first (each within its time limit); later calls raise
        ``PatientContextUnavailable``. A wrapped pool is left open. Every call, including one
        made while another is closing, returns once the close is complete.
        """
        self._closed = True
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(), name="medvision-patients-close")
        # a second caller waits for the same close; a cancelled caller does not stop it
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        await self._idle.wait()  # each lookup is bounded by its own time limit
        # connections going back to the pool: each reset is bounded by the lookup's limit
        await asyncio.gather(*self._releasing, return_exceptions=True)
        if not self._owns_pool:
            return
        try:
            # connections borrowed through ``pool`` by others get a grace period too
            await asyncio.wait_for(self._pool.close(), timeout=self._timeout)
        except TimeoutError:
            self._pool.terminate()
        logger.debug("patient database pool closed")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _migrate(self) -> list[str]:
        applied = await migrations.apply_migrations(self._pool)
        if applied:
            logger.info("patient database migrated", extra={"migrations": applied})
        return applied

    async def _seed_demo(self) -> None:
        await migrations.seed_demo(self._pool)

    async def _with_connection(self, work: Callable[[_Conn], Awaitable[_T]]) -> _T:
        conn = await self._pool.acquire(timeout=self._timeout)
        try:
            return await work(conn)
        finally:
            self._release(conn)

    def _release(self, conn: _Conn) -> None:
        """Give ``conn`` back to the pool off the lookup's clock.

        The work is over by then (committed or rolled back): a reset that fails because the
        server died meanwhile must not fail a read whose audit row committed. asyncpg drops a
        connection it cannot reset, and bounds the reset by the acquire's timeout.
        """
        task = asyncio.create_task(self._pool.release(conn), name="medvision-patients-release")
        self._releasing.add(task)
        task.add_done_callback(self._released)

    def _released(self, task: asyncio.Task[None]) -> None:
        self._releasing.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.debug(
                "a patient database connection could not be reset and was dropped",
                extra={"error": type(error).__name__},
            )

    async def _fetch_read_only(self, conn: _Conn, sql: str, arg: str) -> asyncpg.Record | None:
        """Run ``sql`` in a read-only transaction under the statement timeout.

        Three round trips (begin with the timeout, the statement, commit) where asyncpg's
        ``transaction(readonly=True)`` plus a ``SET LOCAL`` take four. No transaction is ever
        left open: a connection that cannot roll back is dropped from the pool.
        """
        try:
            await conn.execute(self._begin_sql)
            row = await conn.fetchrow(sql, arg)
            await conn.execute("COMMIT")
        except BaseException:
            # also on cancellation (the lookup timeout): asyncpg has asked the server to cancel
            # the statement, and the rollback waits for that, so no backend is left running it
            await _rollback_or_drop(conn)
            raise
        return row

    async def _read_patient(self, conn: _Conn, patient_id: str) -> PatientContext | None:
        record = await self._fetch_read_only(conn, self._lookup_sql, patient_id)
        if record is None:
            raise PatientContextError("the lookup statement returned no row")
        patient: object = record["patient"]
        if patient is None:
            return None
        (row,) = _rows("patient", [patient], ("found", *PATIENT_COLUMNS))
        sections = {
            name: _rows(name, record[name] if name in record else [], columns)
            for name, columns in SECTION_COLUMNS.items()
        }
        vitals = sections["vitals"]
        return patient_from_rows(
            patient_id,
            row,
            allergies=sections["allergies"],
            medications=sections["medications"],
            conditions=sections["conditions"],
            vitals=vitals[0] if vitals else None,
            care_notes=sections["care_notes"],
            unavailable_sections=frozenset(
                name for name in SECTION_COLUMNS if getattr(self._queries, name) is None
            ),
        )

    def _row(self, record: asyncpg.Record) -> Row:
        renamed = {column: field for field, column in self._queries.columns.items()}
        return {renamed.get(key, key): value for key, value in record.items()}

    def _check_id(self, name: str, value: object) -> None:
        # The message names the rule, never the value: an id is patient data.
        pattern = self._id_patterns[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"{name} is ill-formed: it must match {pattern.pattern}")

    async def _guard(
        self,
        what: str,
        limit: float,
        work: Callable[[], Awaitable[_T]],
        patient_hash: str | None = None,
    ) -> _T:
        """Run ``work`` within ``limit`` seconds, turning database errors into the package's."""
        if self._closed:
            raise PatientContextUnavailable(f"{what}: the patient context provider is closed")
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self._run(what, limit, work, patient_hash)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _run(
        self,
        what: str,
        limit: float,
        work: Callable[[], Awaitable[_T]],
        patient_hash: str | None,
    ) -> _T:
        deadline = asyncio.timeout(limit)
        epoch = self._outage.epoch
        try:
            async with deadline:
                result = await work()
            self._outage.succeeded(epoch)
            return result
        except PatientContextError:
            raise
        except TimeoutError:
            # ours, or asyncpg's per-statement command_timeout of an owned pool
            within = f"{limit:g} s" if deadline.expired() else "the pool's command_timeout"
            error: PatientContextError = PatientContextUnavailable(
                f"{what}: no answer within {within}"
            )
        except _UNAVAILABLE as exc:
            error = PatientContextUnavailable(
                f"{what}: database unavailable ({type(exc).__name__})"
            )
        except asyncpg.PostgresError as exc:
            # Never the message: it can quote the query's arguments.
            error = PatientContextError(
                f"{what}: query failed ({type(exc).__name__}, SQLSTATE {exc.sqlstate})"
            )
        except asyncpg.InterfaceError as exc:
            if self._pool.is_closing():  # a wrapped pool closed by its owner
                error = PatientContextUnavailable(f"{what}: the database pool is closed")
            elif isinstance(exc.__context__, _UNAVAILABLE):
                # the connection died under a query, then the transaction could not roll back
                error = PatientContextUnavailable(
                    f"{what}: database unavailable ({type(exc.__context__).__name__})"
                )
            else:  # a value the query could not encode, a wrong number of arguments
                error = PatientContextError(f"{what}: query failed ({type(exc).__name__})")
        except asyncpg.InternalClientError as exc:
            # the connection's protocol state broke, typically as the server died under it
            error = PatientContextUnavailable(
                f"{what}: database connection broken ({type(exc).__name__})"
            )
        except Exception as exc:
            # anything else, such as a value asyncpg cannot decode (a year beyond 9999)
            error = PatientContextError(f"{what}: failed ({type(exc).__name__})")
        if isinstance(error, PatientContextUnavailable):  # the database is down: one outage
            self._outage.failed(epoch, what, str(error), patient_hash)
        else:  # this read's own fault: the query, or a value in the record
            logger.warning(
                "patient database read failed",
                extra={"what": what, "error": str(error), "patient_hash": patient_hash},
            )
        raise error from None


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """A pool ``reset`` that leaves the server session as it is (see ``connect``)."""


async def _rollback_or_drop(conn: _Conn) -> None:
    """Roll back within a short grace; if that fails or takes too long, drop the connection."""
    try:
        await conn.execute("ROLLBACK", timeout=_ROLLBACK_GRACE_S)
    except BaseException as exc:
        _drop(conn)
        if not isinstance(exc, Exception):  # cancelled again: propagate; else report the first
            raise


def _drop(conn: _Conn) -> None:
    """Close a connection whose state is unknown; the pool opens a new one when needed."""
    with contextlib.suppress(asyncpg.InterfaceError):  # already lost and back in the pool
        conn.terminate()


def _rows(section: str, values: object, columns: tuple[str, ...]) -> list[Row]:
    """Name the fields of the rows the lookup statement returns for ``section``."""
    if not isinstance(values, list):
        raise PatientContextError(f"the {section} section is not a list of rows")
    rows: list[Row] = []
    for value in values:
        if not isinstance(value, tuple) or len(value) != len(columns):
            raise PatientContextError(f"a {section} row does not have {len(columns)} columns")
        rows.append(dict(zip(columns, value, strict=True)))
    return rows


def _check_queries(queries: object, *, audit: bool) -> None:
    if not isinstance(queries, PatientQueries):
        raise ValueError("queries must be a PatientQueries")
    if audit and queries.audit is None:
        raise ValueError("audit: the queries define no audit statement (pass audit=False)")


def _seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds")
    return float(value)


def _check_label(name: str, value: object) -> None:
    if not _is_text(value) or len(value) > _MAX_LABEL:
        raise ValueError(f"{name} must be a non-empty string of at most {_MAX_LABEL} characters")


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
