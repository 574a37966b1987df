"""Hostile input through Serve's HTTP port: oversized bodies read off the socket, uploads, and OpenAI requests
too costly for the engine."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable

import pytest

from tests.support.abuse_client import RawResponse, docx_bomb, docx_with_parts, raw_request, repeated, replica_rss_bytes

MIB = 1024 * 1024
# Reading a 64 MiB body (or four at once) would grow the replica by at least that much; Python's own
# allocator noise while serving a handful of requests stays well under it.
RSS_GROWTH_BOUND = 48 * MIB


@contextlib.asynccontextmanager
async def peak_replica_rss(deployment: str = "InventoryAPI"):
    """Samples the replicas' resident memory every 20 ms; yields a dict filled with the baseline and the peak."""
    baseline = sum(replica_rss_bytes(deployment).values())
    assert baseline > 0, f"no local {deployment} replica process found"
    figures = {"baseline": baseline, "peak": baseline}

    async def sample() -> None:
        while True:
            figures["peak"] = max(figures["peak"], sum(replica_rss_bytes(deployment).values()))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        yield figures
    finally:
        sampler.cancel()
        figures["peak"] = max(figures["peak"], sum(replica_rss_bytes(deployment).values()))


async def test_anonymous_64_mib_bodies_get_413_without_growing_the_replica(serve_url):
    json_headers = {"Content-Type": "application/json"}
    lost: list[str] = []

    async def oversized(path: str, chunk_bytes: int, *, declared: bool) -> RawResponse:
        def send() -> Awaitable[RawResponse]:
            return raw_request(serve_url, "POST", path, json_headers, repeated(chunk_bytes, 64 * MIB),
                               content_length=64 * MIB if declared else None, timeout_s=60.0)  # fmt: skip

        try:
            return await send()
        except ConnectionError as exc:
            # Seen once in CI under load, never reproduced here: the connection ended without an answer.
            # One loss is reported and retried; the answer itself is still asserted below.
            lost.append(str(exc))
            return await send()

    async with peak_replica_rss() as rss:
        declared, chunked, *parallel = await asyncio.gather(
            oversized("/api/v1/products", MIB, declared=True),
            oversized("/api/v1/products", 64 * 1024, declared=False),
            *[oversized("/api/v1/purchase-orders", 64 * 1024, declared=False) for _ in range(3)],
        )
    print(f"connections that ended without an answer and were retried: {lost}")
    assert len(lost) <= 1, lost
    for response in (declared, chunked, *parallel):
        assert response.status == 413, response.body
        assert b"limit of 1048576 bytes" in response.body
    # The chunked senders were cut off, not read to the end of their 64 MiB. How far past the 1 MiB limit they got
    # is timing: the sockets between them and the replica (HAProxy's and the replica's) may buffer up to the
    # kernel's autotuning maxima (tcp_rmem 32 MiB here) before the 413 closes the connection; a bound of 16 MiB
    # failed once in CI at 17.4 MB on a slow run.
    assert chunked.sent_bytes < 64 * MIB
    print(f"replica RSS baseline {rss['baseline'] / MIB:.1f} MiB, peak {rss['peak'] / MIB:.1f} MiB")
    assert rss["peak"] - rss["baseline"] < RSS_GROWTH_BOUND, rss


async def test_anonymous_upload_gets_401_before_its_body_is_read(serve_url):
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    for path in ("/api/v1/ai/copilot/documents", "/api/v1/ai/risk/history/import"):
        response = await raw_request(serve_url, "POST", path, headers, repeated(MIB, 64 * MIB), content_length=64 * MIB)
        assert response.status == 401, response.body


async def test_member_upload_over_its_route_limit_gets_413_naming_the_limit(serve_url, make_tenant):
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Content-Type": "multipart/form-data; boundary=x"}
    declared = await raw_request(
        serve_url, "POST", "/api/v1/ai/copilot/documents", headers, repeated(MIB, 64 * MIB), content_length=64 * MIB
    )
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    chunked = await raw_request(
        serve_url,
        "POST",
        "/api/v1/ai/copilot/documents",
        headers,
        itertools.chain([part], repeated(MIB, 64 * MIB)),
        content_length=None,
    )
    # (How much the client got to send before the answer reached it depends on the proxy's buffers; the replica
    # itself stops reading at the limit.)
    for response in (declared, chunked):
        assert response.status == 413, response.body
        assert b"limit of 10551296 bytes" in response.body  # 10 MiB file + 64 KiB of multipart framing


async def test_a_body_just_under_the_limit_reaches_the_route(http, make_tenant):
    tenant = await make_tenant()
    # 1 MiB minus a little: valid JSON that the route's own validation refuses (name too long), not the size limit.
    body = {"sku": "NEAR-LIMIT", "name": "n" * (MIB - 100)}
    response = await http.post("/api/v1/products", json=body, headers=tenant.headers())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.usefixtures("copilot_serve_url")
async def test_document_upload_that_inflates_past_the_bound_gets_413(http, make_tenant):
    tenant = await make_tenant()
    for filename, data in (("bomb.docx", docx_bomb()), ("parts.docx", docx_with_parts(5000))):
        response = await http.post(
            "/api/v1/ai/copilot/documents", files={"file": (filename, data)}, headers=tenant.headers()
        )
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "document_too_large"
    listed = await http.get("/api/v1/ai/copilot/documents", headers=tenant.headers())
    assert listed.json()["items"] == []  # nothing half-stored


LLM = "/api/v1/ai/llm/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.mark.usefixtures("copilot_serve_url")
async def test_costly_openai_requests_are_refused_before_the_engine(http, make_tenant):
    tenant = await make_tenant()
    refused = [
        ("invalid_n", {"messages": HELLO, "n": 50}),
        ("invalid_best_of", {"messages": HELLO, "best_of": 20}),
        ("invalid_stop", {"messages": HELLO, "stop": [f"s{i}" for i in range(100)]}),
        ("prompt_too_long", {"messages": [{"role": "user", "content": "word " * 20_000}]}),
        ("invalid_max_tokens", {"messages": HELLO, "max_tokens": 100_000}),
        ("invalid_max_tokens", {"messages": HELLO, "max_tokens": 0}),  # was read as "the cap"
        # a text part that is no string was a 500 (the bounds check took its length)
        ("validation_error", {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}),
        # content parts the request model left unread could not be sent to the replica: a 500, a call counted
        ("validation_error", {"messages": [{"role": "user", "content": []}]}),
    ]
    for code, body in refused:
        response = await http.post(LLM, json=body, headers=tenant.headers())
        assert 400 <= response.status_code < 500, (code, response.text)
        assert response.json()["code"] == code, response.text
    # Refused requests spend no rate-limit slot: a bounded one is still answered.
    answered = await http.post(LLM, json={"messages": HELLO, "max_tokens": 4, "n": 1}, headers=tenant.headers())
    assert answered.status_code == 200, answered.text
