/*
 * zstd dictionaries for span blocks (payload format 0x03, codec.h).
 *
 * A block of 100 spans is small for zstd: every string it holds for the
 * first time (attribute keys and values, resource attributes, span names)
 * is stored as a literal, once per block. A dictionary made of the
 * column-wise forms of a few earlier blocks turns most of those into
 * matches: on the benchmark's workload, 59.9 -> 49 bytes per span.
 *
 * The dictionaries are "raw content" ones (recent column-wise forms, used
 * as a prefix), not trained: as good as a trained one here (bench/RESULTS.md)
 * and made in microseconds. Each is named by a 64-bit hash of its bytes and
 * stored in table block_dicts (migration 016) by the same statement as the
 * first blocks that use it; until that commit is known, every batch using
 * it carries its row, so a spooled batch replayed by another process
 * brings its dictionary along.
 *
 * One registry per process, shared by all threads: the collector's current
 * dictionary (replaced now and then by one made of recent samples) and
 * the ones readers loaded from the database (a bounded cache).
 */
#ifndef OPG_DICTS_H
#define OPG_DICTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opg_dict;
struct opg_batch;

uint64_t opg_dict_id(const struct opg_dict *d);
/* Drops a reference (NULL: nothing). */
void opg_dict_release(struct opg_dict *d);

/*
 * The dictionary named id, with a reference: from the registry, else
 * loaded from block_dicts when a database was set (and its bytes hash to
 * id). NULL if there is none.
 */
struct opg_dict *opg_dict_find(uint64_t id);

/* Where opg_dict_find loads dictionaries from (a libpq conninfo), or NULL. */
void opg_dicts_set_database(const char *conninfo);

/*
 * Encoder side. The current dictionary for compression level `level`,
 * with a reference, or NULL while there is none yet.
 */
struct opg_dict *opg_dict_current(int level);
/*
 * A column-wise form just encoded: the registry keeps some as samples of
 * the traffic, and makes the next dictionary of them.
 */
void opg_dict_sample(const void *p, size_t n, int level);

/* The zstd objects of d (made on first use); NULL if they cannot be made. */
const void *opg_dict_cdict(const struct opg_dict *d); /* ZSTD_CDict */
const void *opg_dict_ddict(struct opg_dict *d);       /* ZSTD_DDict */

/*
 * Adds d's block_dicts row to b unless d is known to be committed, or b
 * has it already.
 */
void opg_batch_add_dict(struct opg_batch *b, const struct opg_dict *d);
/* After b committed (or was dropped on purpose): its dictionaries are stored. */
void opg_dicts_committed(const struct opg_batch *b);

/* For tests: forget every dictionary not in use, and the current one. */
void opg_dicts_reset(void);

#endif
