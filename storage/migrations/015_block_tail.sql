-- 015: a block's last partial TOAST chunk kept in its row.
--
-- PostgreSQL stores a long payload out of line in chunks of ~2 KB, four to
-- a page, the last chunk partial. A page that holds a value's three full
-- chunks and its short last one has no room for the next value's first
-- chunk: on the benchmark workload (~6.2 KB per block, just over three
-- chunks) a quarter of every TOAST page stayed empty, ~20 bytes per span.
-- From here on the writer stores a block's payload as the whole chunks
-- (payload, out of line, pages full) and the rest (tail, in the row with
-- the block's other columns; STORAGE MAIN keeps it there). A block is
-- payload || coalesce(tail, '') (NULL in rows written before).

ALTER TABLE span_blocks ADD COLUMN tail bytea;
ALTER TABLE span_blocks ALTER COLUMN tail SET STORAGE MAIN;
