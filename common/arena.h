/*
 * A bump allocator for per-request memory (H2O's h2o_mem_pool_t in spirit).
 *
 * Everything decoded from one request lives in one arena and is freed at once
 * with opg_arena_destroy(). An arena has a byte limit: past it allocations
 * return NULL, which is how a small hostile body that would expand into huge
 * decoded structures is refused instead of exhausting memory.
 */
#ifndef OPG_ARENA_H
#define OPG_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct opg_arena;

/* limit: the most bytes the arena may hand out; 0 means no limit. */
struct opg_arena *opg_arena_create(size_t limit);
/* Frees every allocation made from the arena. Accepts NULL. */
void opg_arena_destroy(struct opg_arena *a);
/* 16-byte aligned memory, or NULL past the limit. */
void *opg_arena_alloc(struct opg_arena *a, size_t n);
void *opg_arena_zalloc(struct opg_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL past the limit. */
char *opg_arena_strndup(struct opg_arena *a, const char *s, size_t n);
/* Bytes handed out so far. */
size_t opg_arena_used(const struct opg_arena *a);
/* True once an allocation has failed because of the limit. */
bool opg_arena_exhausted(const struct opg_arena *a);
/* An allocator for protobuf-c's unpack/pack that draws on the arena. */
ProtobufCAllocator opg_arena_pb_allocator(struct opg_arena *a);

#endif
