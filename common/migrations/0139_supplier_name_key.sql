-- A supplier's name as the copilot finds it in a question (copilot/mentions.py): every character Python's \s
-- matches is a plain space (PostgreSQL's \s leaves out the no-break spaces U+00A0, U+2007 and U+202F, U+0085 and
-- U+001C-U+001F), trimmed, without its legal form, in lower case; NULL when nothing is left. Until now each question
-- computed this for every active supplier (three regular expressions a row, 50,000 suppliers 200-400 ms inside the
-- question's transaction) and, with PostgreSQL's \s, did not take "GmbH" off "Global Trading<U+00A0>GmbH", so
-- "How risky is Global Trading?" found no supplier. The legal-form pattern is
-- copilot.mentions._LEGAL_FORM's, character for character (tests/copilot/test_mentions.py holds them equal).
-- No index: the question is the haystack (strpos(question, name_key)), which no index serves; a stored key makes
-- the per-row test one strpos.
ALTER TABLE app.suppliers ADD COLUMN name_key text GENERATED ALWAYS AS (
    NULLIF(lower(btrim(regexp_replace(
        btrim(regexp_replace(name, '[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]', ' ', 'g')),
        '[\s,]+(?:ltd|limited|inc|llc|gmbh|ag|sa|s\.a|bv|b\.v|nv|plc|co|corp|corporation|company|srl|spa|oy|ab|kg)\.?$',
        '', 'i'))), '')
) STORED;
