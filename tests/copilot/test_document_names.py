"""One document per name as people see it: Unicode form, letter case and stray spaces do not make a second one."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import asyncpg
import pytest

from common.errors import ConflictError, InvalidInputError
from copilot import documents, retrieval
from inventory.listing import ListQuery

OLD = "# Penalties\nLate delivery of zebra widgets costs 2% per week.\n"
NEW = "# Penalties\nLate delivery of zebra widgets now costs 5% per week.\n"
QUESTION = "what is the late delivery penalty for zebra widgets"


async def passages(database, tenant, embedder) -> list[str]:
    found = await database.run(
        tenant.claims(), None, lambda tx: retrieval.search(tx.conn, QUESTION, embedder.embed_one(QUESTION), limit=5)
    )
    return [p.content for p in found]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (unicodedata.normalize("NFC", "Lieferverträge.md"), unicodedata.normalize("NFD", "Lieferverträge.md")),
        ("Contract.md", "contract.md"),
        ("contract.md", "  contract.md "),
        ("supply  contract.md", "supply contract.md"),
    ],
)
async def test_a_name_differing_only_in_form_case_or_spaces_replaces_the_document(
    database, make_tenant, upload, embedder, first, second
):
    # Before, each was a second document: the old "2%" passage kept answering beside the new "5%" one.
    tenant = await make_tenant()
    old = await upload(tenant, first, OLD)
    new = await upload(tenant, second, NEW)
    assert new["replaced_document_id"] == old["id"]
    found = await passages(database, tenant, embedder)
    assert any("5%" in p for p in found) and not any("2%" in p for p in found)
    listed = await database.run(tenant.claims(), None, lambda tx: documents.list_documents(tx.conn, ListQuery(50)))
    assert [d["id"] for d in listed.items] == [new["id"]]


async def test_a_stored_name_is_composed_and_its_spaces_folded(make_tenant, upload):
    tenant = await make_tenant()
    stored = await upload(tenant, unicodedata.normalize("NFD", "  Lieferverträge \u00a0 2026.md "), OLD)
    assert stored["filename"] == "Lieferverträge 2026.md"


async def test_the_same_bytes_under_the_same_name_return_the_stored_document_unchanged(make_tenant, upload, owner_pool):
    # Before, they got a new id (the old one a 404) and were embedded again.
    tenant = await make_tenant()
    first = await upload(tenant, "contract.md", OLD)
    again = await upload(tenant, "Contract.md", OLD)
    assert again["id"] == first["id"] and again["replaced_document_id"] is None
    assert again["unchanged"] and not first["unchanged"]
    assert await owner_pool.fetchval("SELECT count(*) FROM app.copilot_documents WHERE tenant_id = $1", tenant.id) == 1


async def test_the_same_bytes_under_another_name_are_refused_naming_the_stored_file(make_tenant, upload):
    # Before, they were stored twice and their chunks took two of the retrieval's slots.
    tenant = await make_tenant()
    await upload(tenant, "contract.md", OLD)
    with pytest.raises(ConflictError) as refused:
        await upload(tenant, "contract (1).md", OLD)
    assert refused.value.code == "duplicate_document" and "'contract.md'" in str(refused.value)


async def test_the_database_refuses_two_names_differing_only_in_case(make_tenant, owner_pool):
    tenant = await make_tenant()
    insert = """INSERT INTO app.copilot_documents (tenant_id, filename, content_type, size_bytes, sha256, chunk_count)
                VALUES ($1, $2, 'text/markdown', 1, $3, 1)"""
    await owner_pool.execute(insert, tenant.id, "Contract.md", "a")
    with pytest.raises(asyncpg.UniqueViolationError):
        await owner_pool.execute(insert, tenant.id, "CONTRACT.md", "b")


@pytest.mark.parametrize(
    "name",
    ["a\tb.md", "a\nb.md", "a\rb.md", "a\x00b.md", "invoice\u202egnp.md", "a\u200bb.md", "a\x7fb.md", "a\u2066b.md"],
)
def test_a_name_with_control_or_format_characters_is_refused_before_extraction(embedder, name):
    # Empty data: extraction would refuse it as empty_file; the name is checked first. Before, such names were
    # stored verbatim (a NUL only failed at the database, after embedding) and cited in the prompt.
    with pytest.raises(InvalidInputError) as refused:
        documents.prepare(name, b"", embedder, max_bytes=1000)
    assert refused.value.code == "bad_filename"
    assert "U+" in str(refused.value)


def test_a_name_over_the_limit_is_refused_saying_its_length(embedder):
    with pytest.raises(InvalidInputError) as refused:
        documents.prepare("x" * 300 + ".md", b"", embedder, max_bytes=1000)
    assert refused.value.code == "bad_filename"
    assert "303 characters" in str(refused.value) and str(documents.MAX_FILENAME_CHARS) in str(refused.value)


def test_a_name_at_the_limit_is_taken(embedder):
    name = "é" * (documents.MAX_FILENAME_CHARS - 3) + ".md"
    assert documents.prepare(name, OLD.encode(), embedder, max_bytes=1000).filename == name


async def test_migration_0165_folds_every_space_the_upload_folds(owner_pool):
    # 0165 merged the look-alikes stored before it; a name whose spaces it folded otherwise than an upload does (the
    # no-break spaces U+00A0, U+2007 and U+202F are no [[:space:]]) survived it, and no upload could replace it.
    sql = (
        Path(documents.__file__).parents[1] / "common" / "migrations" / "0165_copilot_document_names.sql"
    ).read_text()
    (pattern,) = set(re.findall(r"regexp_replace\(filename, ((?:U&)?'[^']+'), ' ', 'g'\)", sql))
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and unicodedata.category(chr(c)) not in ("Cc", "Cf")]
    names = [f"Report{space}Q1.md" for space in spaces]
    async with owner_pool.acquire() as conn:
        folded = await conn.fetch(
            f"SELECT normalize(btrim(regexp_replace(name, {pattern}, ' ', 'g')), NFC) AS name "
            "FROM unnest($1::text[]) name",
            names,
        )
    assert [row["name"] for row in folded] == [documents.clean_filename(name) for name in names]
