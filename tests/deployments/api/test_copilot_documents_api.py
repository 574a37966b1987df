"""/ai/copilot/documents in process: a paged list like every other, and uploads that are the same document as a
stored one answered without parsing or embedding them again (the copilot service is a stand-in here)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator

import pytest

COPILOT = "/api/v1/ai/copilot"
TEXT = b"# Penalties\nLate delivery of zebra widgets costs 2% per week.\n"


async def insert(owner_pool, tenant, filename: str, content_type: str = "text/markdown", data: bytes | None = None):
    data = filename.encode() if data is None else data
    return await owner_pool.fetchrow(
        """INSERT INTO app.copilot_documents (tenant_id, filename, content_type, size_bytes, sha256, chunk_count)
           VALUES ($1, $2, $3, $4, $5, 1) RETURNING id, filename""",
        tenant.id,
        filename,
        content_type,
        len(data),
        hashlib.sha256(data).hexdigest(),
    )


async def test_documents_are_listed_a_page_at_a_time_by_name(http, make_tenant, owner_pool):
    # Before, a bare array of all of them, and limit or cursor a 400 unknown_parameter.
    tenant = await make_tenant()
    for name in ("c.md", "a.md", "b.csv"):
        await insert(owner_pool, tenant, name, "text/csv" if name.endswith(".csv") else "text/markdown")
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await http.get(f"{COPILOT}/documents", params=params, headers=tenant.headers())
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [d["filename"] for d in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["a.md", "b.csv", "c.md"]


async def test_documents_sort_by_upload_time_and_filter_by_content_type(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    for name in ("a.md", "b.csv", "c.md"):
        await insert(owner_pool, tenant, name, "text/csv" if name.endswith(".csv") else "text/markdown")
    newest = await http.get(f"{COPILOT}/documents", params={"sort": "-created_at"}, headers=tenant.headers())
    assert [d["filename"] for d in newest.json()["items"]] == ["c.md", "b.csv", "a.md"]
    csv = await http.get(f"{COPILOT}/documents", params={"content_type": "text/csv"}, headers=tenant.headers())
    assert [d["filename"] for d in csv.json()["items"]] == ["b.csv"]
    unknown = await http.get(f"{COPILOT}/documents", params={"content_type": "image/png"}, headers=tenant.headers())
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid_filter"


class _Ingest:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def remote(self, claims, tenant, filename: str, data: bytes) -> dict:
        self.calls.append(filename)
        raise AssertionError("the copilot service was asked to parse and embed")


@pytest.fixture
def ingest(http) -> Iterator[_Ingest]:
    app = http._transport.app
    stand_in, before = _Ingest(), app.state.model_handles
    app.state.model_handles = dataclasses.replace(before, copilot=type("Copilot", (), {"ingest": stand_in})())
    yield stand_in
    app.state.model_handles = before


async def test_the_same_bytes_under_the_same_name_answer_the_stored_document_without_embedding(
    http, make_tenant, owner_pool, ingest
):
    # Before, a new id (the stored one then a 404) and every chunk embedded again.
    tenant = await make_tenant()
    stored = await insert(owner_pool, tenant, "Contract.md", data=TEXT)
    files = {"file": (" contract.md", TEXT)}
    response = await http.post(f"{COPILOT}/documents", files=files, headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(stored["id"]) and response.json()["replaced_document_id"] is None
    assert ingest.calls == []


async def test_the_same_bytes_under_another_name_are_a_409_naming_the_stored_file(
    http, make_tenant, owner_pool, ingest
):
    tenant = await make_tenant()
    await insert(owner_pool, tenant, "contract.md", data=TEXT)
    files = {"file": ("contract (1).md", TEXT)}
    response = await http.post(f"{COPILOT}/documents", files=files, headers=tenant.headers())
    assert response.status_code == 409 and response.json()["code"] == "duplicate_document"
    assert "'contract.md'" in response.json()["message"] and ingest.calls == []


async def test_a_viewer_is_refused_an_upload_of_stored_bytes(http, make_tenant, owner_pool, ingest):
    tenant = await make_tenant()
    await insert(owner_pool, tenant, "contract.md", data=TEXT)
    files = {"file": ("contract.md", TEXT)}
    response = await http.post(f"{COPILOT}/documents", files=files, headers=tenant.headers(tenant.viewer))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["a\tb.md", "invoice\u202egnp.md", "x" * 300 + ".md"])
async def test_a_bad_filename_is_a_400_before_the_service_is_asked(http, make_tenant, ingest, name):
    # Built by hand: httpx would percent-encode the tab, as browsers do not all do.
    tenant = await make_tenant()
    boundary = b"XyZbOuNdArY"
    body = b"".join(
        [
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode() + b'"',
            b"\r\nContent-Type: text/plain\r\n\r\n" + TEXT + b"\r\n--" + boundary + b"--\r\n",
        ]
    )
    headers = {**tenant.headers(), "content-type": "multipart/form-data; boundary=XyZbOuNdArY"}
    response = await http.post(f"{COPILOT}/documents", content=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "bad_filename", response.text
    assert ingest.calls == []
