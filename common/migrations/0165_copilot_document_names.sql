-- A document's name is one name however it was typed or sent: composed (NFC; macOS sends "ä" decomposed), runs of
-- spaces folded, letter case ignored. UNIQUE (tenant_id, filename) compared bytes, so "Verträge.md" re-uploaded
-- from a Mac, as "verträge.md" or as " Verträge.md" was a second document, and the version it was meant to retire
-- kept answering questions beside it (copilot/documents.py now cleans the name on upload and replaces by
-- lower(filename), this index's expression).
ALTER TABLE app.copilot_documents DROP CONSTRAINT copilot_documents_tenant_id_filename_key;

-- Look-alikes stored before this are the versions their uploader meant to replace (re-uploading a name is the
-- documented way to retire a version): the newest of each is kept and the others deleted, their chunks with them
-- (ON DELETE CASCADE). Refusing the migration instead would stop a deploy over rows no one wants, with no way to
-- resolve them but deleting the same rows by hand. Spaces are folded as Python's str.split does on upload: the
-- [[:space:]] class leaves out the no-break spaces U+00A0, U+2007 and U+202F (a name pasted from a web page), and a
-- look-alike holding one would otherwise survive here and never be replaced by an upload.
WITH named AS (
    SELECT id, tenant_id, created_at,
           lower(normalize(btrim(regexp_replace(filename, U&'[[:space:]\00A0\2007\202F]+', ' ', 'g')), NFC)) AS name_key
    FROM app.copilot_documents
)
DELETE FROM app.copilot_documents d
USING named older, named newer
WHERE d.id = older.id
  AND newer.tenant_id = older.tenant_id AND newer.name_key = older.name_key
  AND (newer.created_at, newer.id) > (older.created_at, older.id);

UPDATE app.copilot_documents
SET filename = normalize(btrim(regexp_replace(filename, U&'[[:space:]\00A0\2007\202F]+', ' ', 'g')), NFC)
WHERE filename <> normalize(btrim(regexp_replace(filename, U&'[[:space:]\00A0\2007\202F]+', ' ', 'g')), NFC);

CREATE UNIQUE INDEX copilot_documents_name_key ON app.copilot_documents (tenant_id, lower(filename));
-- An upload's bytes are looked up before anything is parsed: the same bytes stored are answered, not embedded again.
CREATE INDEX copilot_documents_sha256_idx ON app.copilot_documents (tenant_id, sha256);
