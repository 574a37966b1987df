"""The process's asyncpg pool and the per-request tenant transaction.

Every request runs in one transaction that first calls ``app.enter_request`` (see the foundation
migration): it stores the verified JWT claims, resolves the caller's membership and drops to the
``authenticated`` role, so row-level security decides what the rest of the transaction can see.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast
from uuid import UUID

import asyncpg
from pgvector.asyncpg import register_vector

from common.auth import tenant_hint
from common.config import Settings
from common.errors import (
    DatabaseUnavailableError,
    InvalidInputError,
    NumberTakenMeanwhileError,
    PermissionDeniedError,
    PoolExhaustedError,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError, NumberTakenMeanwhileError)
# The server went away under the connection (restart, failover, network): the pool's other idle
# connections are most likely dead too.
CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)
# The server cannot serve the request now, though the connection is fine: too many connections or no memory or disk
# (SQLSTATE class 53), a deadlock or serialization failure past its retries (class 40), a lock timeout (55P03).
# Conditions of the server, not bugs: Database.run raises them as DatabaseUnavailableError (503, Retry-After).
CANNOT_ANSWER_NOW = (
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,
    asyncpg.LockNotAvailableError,
)
_MAX_ATTEMPTS = 4
# The token's app_metadata.tenant_id is a hint, not a choice: it stands for the tenant asked for only while the user is
# still a member of it, so a hint naming a tenant they have left resolves as no hint at all (their single membership,
# or tenant_required). Resolved in the same statement, before app.enter_request drops to the authenticated role; the
# function still verifies the membership it is given.
_ENTER_REQUEST = """
SELECT tenant_id, role FROM app.enter_request($1::jsonb, coalesce($2::uuid, (
    SELECT m.tenant_id FROM app.members m
    WHERE m.user_id = nullif($1::jsonb ->> 'sub', '')::uuid AND m.tenant_id = $3::uuid)))
"""


class MemberRole(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    VIEWER = "viewer"

    @property
    def can_write(self) -> bool:
        return self in (MemberRole.ADMIN, MemberRole.PLANNER)


@dataclass(frozen=True, slots=True)
class TenantTransaction:
    """An open transaction scoped to one tenant under row-level security."""

    conn: asyncpg.Connection
    tenant_id: UUID
    user_id: UUID
    role: MemberRole

    def require_write(self) -> None:
        if not self.role.can_write:
            raise PermissionDeniedError(
                f"role {self.role.value!r} is read-only; this change needs the planner or admin role"
            )


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        await register_vector(conn)
    except ValueError:
        # Before the first migration the extension may not exist yet; vectors are unused until then.
        logger.warning("pgvector type not found; vector columns will not be decoded on this connection")


async def _release_without_reset_query(conn: asyncpg.Connection) -> None:
    """Hand a connection back without asyncpg's reset query (``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL``), which costs every request one more round trip.

    Nothing run on pooled connections leaves session state to reset: the request context is set with
    ``set_config(..., true)`` (transaction-local, the role included), advisory locks are transaction-level
    (``pg_advisory_xact_lock``), cursors live inside their transaction, and ``SET`` is always ``SET LOCAL``.
    The session-level advisory lock of migrations and the event hub's ``LISTEN`` use connections of their
    own. Before calling this, asyncpg still rolls back a transaction left open and drops listeners.
    ``tests/common/test_round_trips.py`` checks that a released connection keeps nothing of its request.
    """


async def create_pool(settings: Settings, dsn: str | None = None) -> asyncpg.Pool:
    url = dsn or settings.database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set (the local stack sets it after starting PostgreSQL)")
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        init=_init_connection,
        reset=_release_without_reset_query,
        server_settings={
            "application_name": "chainsight",
            "statement_timeout": str(settings.database_statement_timeout_ms),
            # A transaction left open by a stalled client (a slow download) is ended by the server.
            "idle_in_transaction_session_timeout": str(settings.database_idle_in_transaction_timeout_ms),
        },
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def job_database(settings: Settings) -> AsyncIterator[Database]:
    """A pool for one job or tool run (the integrations job, `chainsight risk`, the early warning), closed at the
    end; its connections are acquired as the API's are, waiting at most ``database_acquire_timeout_s`` and then
    failing with ``PoolExhaustedError`` (until 2026-12-08 jobs waited without limit)."""
    pool = await create_pool(settings)
    try:
        yield Database(pool, acquire_timeout_s=settings.database_acquire_timeout_s)
    finally:
        await pool.close()


class Database:
    """Opens tenant-scoped transactions on the process's pool."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout_s: float | None = None) -> None:
        """``acquire_timeout_s``: how long a request or job waits for a pooled connection before it is refused
        (``Settings.database_acquire_timeout_s`` everywhere: the API's, ``job_database``; None waits as long as it
        takes, for tests and benches only)."""
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, waiting at most ``acquire_timeout_s`` for one (then ``PoolExhaustedError``, a 503)."""
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout_s)
        except TimeoutError as exc:
            raise PoolExhaustedError(
                f"every database connection is busy (waited {self.acquire_timeout_s} s, DATABASE_ACQUIRE_TIMEOUT_S); "
                "retry shortly",
                details={"retry_after_s": 1},
            ) from exc
        try:
            yield cast(asyncpg.Connection, conn)
        finally:
            await self.pool.release(conn)

    @asynccontextmanager
    async def tenant_transaction(
        self, claims: Mapping[str, Any], requested_tenant: UUID | None
    ) -> AsyncIterator[TenantTransaction]:
        """``requested_tenant``: the caller's explicit choice (403 where not a member); without one, the token's
        tenant hint where the user is a member of it, else their single membership."""
        hint = None if requested_tenant is not None else tenant_hint(claims)
        async with self.connection() as conn, conn.transaction():
            rows = await conn.fetch(_ENTER_REQUEST, dict(claims), requested_tenant, hint)
            yield TenantTransaction(
                # The pool hands out a proxy that behaves as a Connection for everything we call.
                conn=cast(asyncpg.Connection, conn),
                tenant_id=_single_membership(rows, requested_tenant),
                user_id=UUID(str(claims["sub"])),
                role=MemberRole(rows[0]["role"]),
            )

    async def run(
        self,
        claims: Mapping[str, Any],
        requested_tenant: UUID | None,
        operation: Callable[[TenantTransaction], Awaitable[T]],
    ) -> T:
        """Run ``operation`` in a tenant transaction.

        Retried on deadlock or serialization failure, and on a lost connection only when it was lost
        before ``operation`` started (so nothing can have been written); a connection lost later is
        raised, since the commit may or may not have happened (clients retry with an Idempotency-Key).
        A deadlock or serialization failure past its retries and the other ``CANNOT_ANSWER_NOW`` errors are
        raised as ``DatabaseUnavailableError`` too (logged): a 40001 or 40P01 is retried first.
        """
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            started = False
            try:
                async with self.tenant_transaction(claims, requested_tenant) as tx:
                    started = True
                    return await operation(tx)
            except _RETRYABLE as exc:
                if attempt < _MAX_ATTEMPTS:
                    await asyncio.sleep(_retry_delay(attempt))
                    continue
                if isinstance(exc, NumberTakenMeanwhileError):
                    raise  # a conflict the retries did not get past (409), not the server failing
                raise _unavailable(exc) from exc
            except CANNOT_ANSWER_NOW as exc:
                raise _unavailable(exc) from exc
            except (*CONNECTION_LOST, OSError) as exc:
                if started and not isinstance(exc, CONNECTION_LOST):
                    raise  # an OSError of the operation itself, not of the database connection
                await self.pool.expire_connections()
                if started or attempt == _MAX_ATTEMPTS:
                    raise DatabaseUnavailableError("the database is unavailable; retry shortly") from exc
                await asyncio.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")


async def lock_until_commit(conn: asyncpg.Connection, key: str) -> None:
    """Hold an advisory lock named ``key`` until the transaction ends: callers with the same key queue here, and
    each statement after it (READ COMMITTED) sees what the one before committed."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def delete_counted(conn: asyncpg.Connection, delete: str, *args: object) -> int:
    """Run the DELETE statement ``delete`` with ``args`` and return how many rows it removed."""
    status = await conn.execute(delete, *args)  # "DELETE <count>"
    return int(status.rsplit(" ", 1)[1])


def _retry_delay(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after a deadlock or serialization failure: 20, 40, 80 ms on
    average, each drawn at random between half and one and a half of that. Without the spread, the transactions
    that collided were retried in step and collided again until the attempts ran out (a 503)."""
    return 0.01 * 2**attempt * random.uniform(0.5, 1.5)  # noqa: S311 - a spread in time, not a secret


def _unavailable(exc: Exception) -> DatabaseUnavailableError:
    # The client only learns "retry shortly": what the server said is for the operators.
    logger.warning("the database cannot answer now; refusing as database_unavailable: %r", exc)
    return DatabaseUnavailableError("the database is unavailable; retry shortly")


def _single_membership(rows: list[asyncpg.Record], requested_tenant: UUID | None) -> UUID:
    if not rows:
        if requested_tenant is not None:
            raise PermissionDeniedError(f"you are not a member of tenant {requested_tenant}")
        raise PermissionDeniedError("your account is not a member of any tenant")
    if len(rows) > 1:
        raise InvalidInputError(
            "you belong to several tenants: choose one with the X-Tenant-Id header",
            code="tenant_required",
            details={"tenants": [str(r["tenant_id"]) for r in rows]},
        )
    tenant_id: UUID = rows[0]["tenant_id"]
    return tenant_id
