-- 016: zstd dictionaries for span blocks (payload format 0x03).
--
-- A block of 100 spans is small for zstd: each string it holds for the
-- first time is a literal, once per block. The collector now compresses
-- blocks with a dictionary made of the column-wise forms of a few earlier
-- blocks (storage/dicts.h): 59.9 -> ~49 bytes of payload per span on the
-- benchmark's workload. A dictionary is named by a 64-bit hash of its
-- bytes, which a reader checks when it loads one. It is written by the
-- statement that writes the first blocks using it, and never deleted:
-- a collector makes two when it starts (one of its first block, then one
-- of samples), then one a day, under 64 KB each: ~25 MB a year of a
-- collector running (docs/ARCHITECTURE.md, "Bounds").

CREATE TABLE block_dicts (
    id bigint PRIMARY KEY,
    created timestamptz NOT NULL DEFAULT now(),
    content bytea NOT NULL
);

-- What a block holds, for telling a replay from a 64-bit ID collision
-- (writer.c): a 0x03 payload's check (the hash of its column-wise form,
-- bytes 10-17), which does not depend on the dictionary; else the payload.
CREATE FUNCTION otelpg_block_check(p bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN length(p) >= 17 AND get_byte(p, 0) = 3
                  THEN substring(p FROM 10 FOR 8) ELSE p END $$;
