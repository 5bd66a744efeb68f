#include "arena.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN 16

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    /* data follows, aligned */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct opg_arena {
    struct arena_chunk *head;
    size_t limit;
    size_t used;
    bool exhausted;
};

struct opg_arena *opg_arena_create(size_t limit)
{
    struct opg_arena *a = opg_xcalloc(1, sizeof(*a));
    a->limit = limit;
    return a;
}

void opg_arena_destroy(struct opg_arena *a)
{
    struct arena_chunk *c, *next;

    if (!a)
        return;
    for (c = a->head; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *opg_arena_alloc(struct opg_arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (need < n || (a->limit && (need > a->limit || a->used > a->limit - need))) {
        a->exhausted = true;
        return NULL;
    }
    if (!c || c->size - c->used < need) {
        size_t size = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;
        struct arena_chunk *nc = malloc(sizeof(*nc) + size);
        if (!nc) {
            a->exhausted = true;
            return NULL;
        }
        nc->size = size;
        nc->used = 0;
        /* A large one-off block goes behind the current chunk so that the
         * current chunk keeps serving small allocations. */
        if (c && size != ARENA_CHUNK) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    p = c->data + c->used;
    c->used += need;
    a->used += need;
    return p;
}

void *opg_arena_zalloc(struct opg_arena *a, size_t n)
{
    void *p = opg_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *opg_arena_strndup(struct opg_arena *a, const char *s, size_t n)
{
    char *p = opg_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t opg_arena_used(const struct opg_arena *a)
{
    return a->used;
}

bool opg_arena_exhausted(const struct opg_arena *a)
{
    return a->exhausted;
}

static void *pb_alloc(void *data, size_t size)
{
    return opg_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    /* released with the arena */
}

ProtobufCAllocator opg_arena_pb_allocator(struct opg_arena *a)
{
    ProtobufCAllocator al = {pb_alloc, pb_free, a};
    return al;
}
