"""``GET /exports/{dataset}.{format}``: CSV, xlsx or PDF of a list endpoint's data, with its filters."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from deployments.api.deps import CallerDep
from deployments.api.known_query import checks_own_query
from deployments.api.listing_params import SearchParam, SortParam, list_query
from inventory import members
from inventory.exports import build
from inventory.exports.build import Labels
from inventory.exports.datasets import DATASETS, ExportFormat, resolve
from inventory.exports.slots import claim_export_slot

router = APIRouter(prefix="/exports", tags=["exports"])
_OPTIONS = frozenset({"labels", "bom"})
_PAGING = frozenset({"sort", "q"})  # the whole data set: a limit or cursor is refused, not ignored
_NAMES = ", ".join(f"{d}.{f.value}" for d in DATASETS for f in ExportFormat)


@router.get(
    "/{name}",
    summary="Export products, stock levels, stock movements, purchase orders or shipments",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in build.MEDIA_TYPES.values()}}},
)
@checks_own_query  # the filters it takes are the named data set's: list_query refuses the rest
async def export(
    request: Request,
    caller: CallerDep,
    name: Annotated[str, Path(max_length=64, description=f"One of: {_NAMES}")],
    sort: SortParam = None,
    q: SearchParam = None,
    labels: Annotated[
        Labels, Query(description="CSV/xlsx headings: field names (keys) or the PDF's labels (human)")
    ] = "keys",
    bom: Annotated[
        bool | None,
        Query(
            description="CSV only: start the file with a UTF-8 byte-order mark, which Excel needs to read UTF-8 "
            "(without one it reads the ANSI code page: 'Müller' shows as 'MÃ¼ller') and which a plain UTF-8 reader "
            "takes for part of the first heading. Left out: a mark with `labels=human` (for people), none with "
            "`labels=keys` (for programs). xlsx and PDF have none."
        ),
    ] = None,
) -> StreamingResponse:
    """Takes the same filters, `sort` and `q` as the matching list endpoint, without paging. CSV and xlsx
    stream from a server-side cursor (memory stays flat at any size) and hold up to `EXPORT_MAX_ROWS` rows
    (5,000,000), an xlsx up to 1,048,575 with texts up to 32,767 characters; a PDF holds up to 2,000 rows. A
    larger set is a 400 before the first byte, never a shorter file."""
    dataset, fmt = resolve(name)
    query = list_query(dataset.listing, request, 1, None, sort, q, options=_OPTIONS, paging=_PAGING)
    # The transaction stays open while the body streams and closes when the last byte is sent.
    stack = AsyncExitStack()
    tx = await stack.enter_async_context(
        caller.services.database.tenant_transaction(caller.claims.raw, caller.requested_tenant)
    )
    try:
        await claim_export_slot(tx.conn, tx.user_id, request.app.state.settings.exports_per_user)
        zone = await members.zone_for(tx.conn, tx.user_id)  # times as the reader's profile shows them
        query = replace(query, zone=zone)  # and a bare date in a time filter is midnight there
        max_rows = request.app.state.settings.export_max_rows
        prepared = await build.prepare(tx.conn, dataset, fmt, query, datetime.now(zone), labels, max_rows, bom)
    except BaseException:
        await stack.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in prepared.chunks:
                yield chunk
        finally:
            await stack.aclose()

    return StreamingResponse(
        body(),
        media_type=prepared.media_type,
        headers={"Content-Disposition": f'attachment; filename="{prepared.filename}"'},
    )
