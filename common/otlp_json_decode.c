/*
 * OTLP/JSON decoding (see otlp_json.h).
 *
 * jansson parses the body into a tree; one decoder per message then walks its
 * object and fills the protobuf-c struct from the arena. The result has to be
 * indistinguishable from what protobuf_c_message_unpack() gives for the same
 * data, so that the rest of the pipeline never knows which encoding came in:
 * absent and null fields keep the _INIT defaults, empty repeated fields stay
 * (0, NULL), and oneofs set their *_case exactly as the wire decoder does.
 *
 * Errors are sticky: the first failure is recorded in struct dec and every
 * later helper returns at once, which keeps the message decoders straight
 * lists of fields instead of ladders of checks.
 */
#include "otlp_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hex.h"

/* Room for the path of any value within a sane AnyValue depth; past it the
 * tail of the path is lost, but decoding goes on. */
#define DEC_PATH_MAX 1024

/* 2^64 and 2^63 as doubles: the exclusive upper bounds of uint64 and int64. */
#define TWO_POW_64 18446744073709551616.0
#define TWO_POW_63 9223372036854775808.0

struct dec {
    struct opg_arena *arena;
    int max_depth;
    /* How many AnyValue arrays/kvlists enclose the value being decoded. */
    int depth;
    int rc;
    char *err;
    size_t errlen;
    char path[DEC_PATH_MAX];
    size_t plen;
};

/* A decoder for one message: checks j, allocates the struct, fills it. */
typedef int (*dec_msg_fn)(struct dec *d, json_t *j, void **out);

static void path_advance(struct dec *d, int n)
{
    if (n <= 0)
        return;
    d->plen += (size_t)n;
    if (d->plen >= sizeof(d->path))
        d->plen = sizeof(d->path) - 1;
}

/* Appends ".key" (or "key" at the top) and returns the length to restore. */
static size_t path_push_key(struct dec *d, const char *key)
{
    size_t mark = d->plen;

    path_advance(
        d, snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "%s%s", d->plen ? "." : "", key));
    return mark;
}

static size_t path_push_index(struct dec *d, size_t i)
{
    size_t mark = d->plen;

    path_advance(d, snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "[%zu]", i));
    return mark;
}

static void path_pop(struct dec *d, size_t mark)
{
    d->plen = mark;
    d->path[mark] = '\0';
}

static void set_error(struct dec *d, int rc, const char *key, const char *msg)
{
    char where[DEC_PATH_MAX + 64];
    size_t wlen, room;

    if (d->rc)
        return;
    d->rc = rc;
    if (!d->err || !d->errlen)
        return;
    snprintf(where, sizeof(where), "%s%s%s", d->path, d->plen && key ? "." : "", key ? key : "");
    wlen = strlen(where);
    if (!wlen) {
        snprintf(d->err, d->errlen, "%s", msg);
        return;
    }
    /* The reason matters more than the middle of a deep path: elide that
     * middle so that the head, the tail and the reason all fit in err. */
    room = d->errlen > strlen(msg) + 3 ? d->errlen - strlen(msg) - 3 : 0;
    if (wlen > room && room > 16) {
        size_t head = (room - 3) / 2;
        size_t tail = room - 3 - head;

        memmove(where + head + 3, where + wlen - tail, tail + 1);
        memcpy(where + head, "...", 3);
    }
    snprintf(d->err, d->errlen, "%s: %s", where, msg);
}

/* Records that the input is not valid OTLP JSON at path[.key]. */
static int fail(struct dec *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct dec *d, const char *key, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_error(d, OPG_DECODE_INVALID, key, msg);
    return d->rc;
}

/* Records that the arena limit was reached. */
static int too_big(struct dec *d)
{
    set_error(d, OPG_DECODE_TOO_BIG, NULL, "decoded request exceeds the memory limit");
    return d->rc;
}

static void *alloc_array(struct dec *d, size_t n, size_t size)
{
    void *p;

    if (n > SIZE_MAX / size) {
        too_big(d);
        return NULL;
    }
    p = opg_arena_alloc(d->arena, n * size);
    if (!p)
        too_big(d);
    return p;
}

/*
 * The value of a field under its JSON name or its proto name, or NULL when it
 * is absent or null: the protobuf JSON mapping reads null as "default".
 */
static json_t *field(json_t *obj, const char *camel, const char *snake)
{
    json_t *v = json_object_get(obj, camel);

    if ((!v || json_is_null(v)) && snake)
        v = json_object_get(obj, snake);
    return json_is_null(v) ? NULL : v;
}

/* ---- scalar conversions; each returns NULL or why the value is refused ---- */

/* A decimal or exponent number in a string, as the JSON mapping allows. */
static bool str_to_real(const char *s, double *out)
{
    char *end;

    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

static const char *real_to_u64(double x, uint64_t *out)
{
    if (!isfinite(x) || x != floor(x))
        return "not an integer";
    if (x < 0 || x >= TWO_POW_64)
        return "out of range";
    *out = (uint64_t)x;
    return NULL;
}

static const char *real_to_i64(double x, int64_t *out)
{
    if (!isfinite(x) || x != floor(x))
        return "not an integer";
    if (x < -TWO_POW_63 || x >= TWO_POW_63)
        return "out of range";
    *out = (int64_t)x;
    return NULL;
}

/*
 * Parses [-]digits without going through double, so the whole 64-bit range is
 * exact. Returns 1 on success, 0 if s is not plain digits, -1 on overflow.
 */
static int parse_decimal(const char *s, bool *neg, uint64_t *mag)
{
    uint64_t x = 0;

    *neg = *s == '-';
    if (*neg)
        s++;
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned digit;

        if (*s < '0' || *s > '9')
            return 0;
        digit = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - digit) / 10)
            return -1;
        x = x * 10 + digit;
    }
    *mag = x;
    return 1;
}

static const char *str_to_u64(const char *s, uint64_t *out)
{
    bool neg;
    uint64_t mag;
    double x;

    switch (parse_decimal(s, &neg, &mag)) {
    case 1:
        if (neg && mag)
            return "out of range";
        *out = mag;
        return NULL;
    case -1:
        return "out of range";
    }
    if (!str_to_real(s, &x))
        return "not an integer";
    return real_to_u64(x, out);
}

static const char *str_to_i64(const char *s, int64_t *out)
{
    bool neg;
    uint64_t mag;
    double x;

    switch (parse_decimal(s, &neg, &mag)) {
    case 1:
        if (neg) {
            if (mag > (uint64_t)INT64_MAX + 1)
                return "out of range";
            *out = mag ? -(int64_t)(mag - 1) - 1 : 0;
        } else {
            if (mag > (uint64_t)INT64_MAX)
                return "out of range";
            *out = (int64_t)mag;
        }
        return NULL;
    case -1:
        return "out of range";
    }
    if (!str_to_real(s, &x))
        return "not an integer";
    return real_to_i64(x, out);
}

/*
 * 64-bit fields come as strings (the JSON mapping) or as numbers (what many
 * clients send). jansson refuses integer literals beyond int64 at parse time,
 * so only strings carry the top half of the uint64 range.
 */
static const char *json_to_u64(json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return "out of range";
        *out = (uint64_t)json_integer_value(v);
        return NULL;
    }
    if (json_is_real(v))
        return real_to_u64(json_real_value(v), out);
    if (json_is_string(v))
        return str_to_u64(json_string_value(v), out);
    return "not an integer";
}

static const char *json_to_i64(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return NULL;
    }
    if (json_is_real(v))
        return real_to_i64(json_real_value(v), out);
    if (json_is_string(v))
        return str_to_i64(json_string_value(v), out);
    return "not an integer";
}

static const char *json_to_double(json_t *v, double *out)
{
    const char *s;

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return NULL;
    }
    if (!json_is_string(v))
        return "not a number";
    s = json_string_value(v);
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "Infinity"))
        *out = INFINITY;
    else if (!strcmp(s, "-Infinity"))
        *out = -INFINITY;
    else if (!str_to_real(s, out))
        return "not a number";
    return NULL;
}

/* ---- field getters: absent or null leaves the default in place ---- */

static void get_string(struct dec *d, json_t *obj, const char *camel, const char *snake, char **out)
{
    json_t *v = field(obj, camel, snake);
    char *s;

    if (d->rc || !v)
        return;
    if (!json_is_string(v)) {
        fail(d, camel, "not a string");
        return;
    }
    if (memchr(json_string_value(v), '\0', json_string_length(v))) {
        fail(d, camel, "contains a NUL character (only attribute values may)");
        return;
    }
    s = opg_arena_strndup(d->arena, json_string_value(v), json_string_length(v));
    if (!s) {
        too_big(d);
        return;
    }
    *out = s;
}

/* A JSON string into a bytes field, kept whole (NUL characters included). */
static void get_string_bytes(struct dec *d, json_t *obj, const char *camel, const char *snake,
                             ProtobufCBinaryData *out)
{
    json_t *v = field(obj, camel, snake);
    char *s;

    if (d->rc || !v)
        return;
    if (!json_is_string(v)) {
        fail(d, camel, "not a string");
        return;
    }
    s = opg_arena_strndup(d->arena, json_string_value(v), json_string_length(v));
    if (!s) {
        too_big(d);
        return;
    }
    out->data = (uint8_t *)s;
    out->len = json_string_length(v);
}

static void get_bool(struct dec *d, json_t *obj, const char *camel, const char *snake,
                     protobuf_c_boolean *out)
{
    json_t *v = field(obj, camel, snake);

    if (d->rc || !v)
        return;
    if (!json_is_boolean(v)) {
        fail(d, camel, "not a boolean");
        return;
    }
    *out = json_is_true(v);
}

static void get_u64(struct dec *d, json_t *obj, const char *camel, const char *snake, uint64_t *out)
{
    json_t *v = field(obj, camel, snake);
    const char *why;

    if (d->rc || !v)
        return;
    why = json_to_u64(v, out);
    if (why)
        fail(d, camel, "%s", why);
}

static void get_i64(struct dec *d, json_t *obj, const char *camel, const char *snake, int64_t *out)
{
    json_t *v = field(obj, camel, snake);
    const char *why;

    if (d->rc || !v)
        return;
    why = json_to_i64(v, out);
    if (why)
        fail(d, camel, "%s", why);
}

static void get_u32(struct dec *d, json_t *obj, const char *camel, const char *snake, uint32_t *out)
{
    json_t *v = field(obj, camel, snake);
    const char *why;
    uint64_t x;

    if (d->rc || !v)
        return;
    why = json_to_u64(v, &x);
    if (!why && x > UINT32_MAX)
        why = "out of range";
    if (why) {
        fail(d, camel, "%s", why);
        return;
    }
    *out = (uint32_t)x;
}

static void get_i32(struct dec *d, json_t *obj, const char *camel, const char *snake, int32_t *out)
{
    json_t *v = field(obj, camel, snake);
    const char *why;
    int64_t x;

    if (d->rc || !v)
        return;
    why = json_to_i64(v, &x);
    if (!why && (x < INT32_MIN || x > INT32_MAX))
        why = "out of range";
    if (why) {
        fail(d, camel, "%s", why);
        return;
    }
    *out = (int32_t)x;
}

static void get_double(struct dec *d, json_t *obj, const char *camel, const char *snake,
                       double *out)
{
    json_t *v = field(obj, camel, snake);
    const char *why;

    if (d->rc || !v)
        return;
    why = json_to_double(v, out);
    if (why)
        fail(d, camel, "%s", why);
}

/*
 * Enums are open in proto3: an unknown number is kept as it is, like the wire
 * decoder keeps it. Names are accepted too, as the JSON mapping writes them.
 * Returns whether *out was set.
 */
static bool get_enum(struct dec *d, json_t *obj, const char *camel, const char *snake,
                     int (*from_name)(const char *), int *out)
{
    json_t *v = field(obj, camel, snake);
    int64_t x;

    if (d->rc || !v)
        return false;
    if (json_is_string(v)) {
        int e = from_name(json_string_value(v));

        if (e >= 0) {
            *out = e;
            return true;
        }
    }
    if (json_to_i64(v, &x) || x < INT32_MIN || x > INT32_MAX) {
        /* The name itself is not echoed: err must stay one short line. */
        fail(d, camel, json_is_string(v) ? "unknown enum name" : "not an enum value");
        return false;
    }
    *out = (int)x;
    return true;
}

/*
 * Trace and span IDs are hex in OTLP/JSON. A malformed one becomes a 1-byte ID
 * rather than an error so that validation drops just the item carrying it.
 */
static void get_id(struct dec *d, json_t *obj, const char *camel, const char *snake, size_t n,
                   ProtobufCBinaryData *out)
{
    json_t *v = field(obj, camel, snake);
    uint8_t *buf;

    if (d->rc || !v)
        return;
    if (!json_is_string(v)) {
        fail(d, camel, "not a hex string");
        return;
    }
    if (!json_string_length(v))
        return;
    buf = opg_arena_alloc(d->arena, n);
    if (!buf) {
        too_big(d);
        return;
    }
    out->data = buf;
    if (!opg_hex_decode(buf, n, json_string_value(v), json_string_length(v))) {
        out->len = n;
    } else {
        buf[0] = 0;
        out->len = 1;
    }
}

static void get_bytes(struct dec *d, json_t *obj, const char *camel, const char *snake,
                      ProtobufCBinaryData *out)
{
    json_t *v = field(obj, camel, snake);
    size_t len;
    uint8_t *buf;
    long n;

    if (d->rc || !v)
        return;
    if (!json_is_string(v)) {
        fail(d, camel, "not a base64 string");
        return;
    }
    len = json_string_length(v);
    /* len * 3 / 4 + 3, the room opg_base64_decode() asks for, without overflow. */
    buf = opg_arena_alloc(d->arena, len / 4 * 3 + len % 4 * 3 / 4 + 3);
    if (!buf) {
        too_big(d);
        return;
    }
    n = opg_base64_decode(buf, json_string_value(v), len);
    if (n < 0) {
        fail(d, camel, "not valid base64");
        return;
    }
    /* protobuf-c leaves data NULL for an empty bytes field; match it. */
    out->data = n ? buf : NULL;
    out->len = (size_t)n;
}

/* The array under camel/snake, or NULL if absent or empty (or on error). */
static json_t *get_array(struct dec *d, json_t *obj, const char *camel, const char *snake)
{
    json_t *v = field(obj, camel, snake);

    if (d->rc || !v)
        return NULL;
    if (!json_is_array(v)) {
        fail(d, camel, "not an array");
        return NULL;
    }
    return json_array_size(v) ? v : NULL;
}

static void get_strings(struct dec *d, json_t *obj, const char *camel, const char *snake, size_t *n,
                        char ***out)
{
    json_t *arr = get_array(d, obj, camel, snake);
    size_t mark, i, cnt;
    char **items;

    if (!arr)
        return;
    cnt = json_array_size(arr);
    items = alloc_array(d, cnt, sizeof(*items));
    if (!items)
        return;
    mark = path_push_key(d, camel);
    for (i = 0; i < cnt && !d->rc; i++) {
        json_t *v = json_array_get(arr, i);
        size_t imark = path_push_index(d, i);

        if (!json_is_string(v))
            fail(d, NULL, "not a string");
        else if (!(items[i] =
                       opg_arena_strndup(d->arena, json_string_value(v), json_string_length(v))))
            too_big(d);
        path_pop(d, imark);
    }
    path_pop(d, mark);
    if (d->rc)
        return;
    *n = cnt;
    *out = items;
}

static void get_u64s(struct dec *d, json_t *obj, const char *camel, const char *snake, size_t *n,
                     uint64_t **out)
{
    json_t *arr = get_array(d, obj, camel, snake);
    size_t mark, i, cnt;
    uint64_t *items;

    if (!arr)
        return;
    cnt = json_array_size(arr);
    items = alloc_array(d, cnt, sizeof(*items));
    if (!items)
        return;
    mark = path_push_key(d, camel);
    for (i = 0; i < cnt && !d->rc; i++) {
        const char *why = json_to_u64(json_array_get(arr, i), &items[i]);

        if (why) {
            size_t imark = path_push_index(d, i);

            fail(d, NULL, "%s", why);
            path_pop(d, imark);
        }
    }
    path_pop(d, mark);
    if (d->rc)
        return;
    *n = cnt;
    *out = items;
}

static void get_doubles(struct dec *d, json_t *obj, const char *camel, const char *snake, size_t *n,
                        double **out)
{
    json_t *arr = get_array(d, obj, camel, snake);
    size_t mark, i, cnt;
    double *items;

    if (!arr)
        return;
    cnt = json_array_size(arr);
    items = alloc_array(d, cnt, sizeof(*items));
    if (!items)
        return;
    mark = path_push_key(d, camel);
    for (i = 0; i < cnt && !d->rc; i++) {
        const char *why = json_to_double(json_array_get(arr, i), &items[i]);

        if (why) {
            size_t imark = path_push_index(d, i);

            fail(d, NULL, "%s", why);
            path_pop(d, imark);
        }
    }
    path_pop(d, mark);
    if (d->rc)
        return;
    *n = cnt;
    *out = items;
}

/*
 * A repeated message field. protobuf-c stores it as an array of pointers; the
 * element decoders fill void * slots that the caller's typed array aliases,
 * as protobuf-c's own unpacker does.
 */
static void get_messages(struct dec *d, json_t *obj, const char *camel, const char *snake,
                         dec_msg_fn fn, size_t *n, void *out)
{
    json_t *arr = get_array(d, obj, camel, snake);
    size_t mark, i, cnt;
    void **items;

    if (!arr)
        return;
    cnt = json_array_size(arr);
    items = alloc_array(d, cnt, sizeof(*items));
    if (!items)
        return;
    mark = path_push_key(d, camel);
    for (i = 0; i < cnt && !d->rc; i++) {
        size_t imark = path_push_index(d, i);

        fn(d, json_array_get(arr, i), &items[i]);
        path_pop(d, imark);
    }
    path_pop(d, mark);
    if (d->rc)
        return;
    *n = cnt;
    memcpy(out, &items, sizeof(items));
}

/* A singular message field; absent leaves the pointer NULL, as unpacking does. */
static void get_message(struct dec *d, json_t *obj, const char *camel, const char *snake,
                        dec_msg_fn fn, void *out)
{
    json_t *v = field(obj, camel, snake);
    size_t mark;

    if (d->rc || !v)
        return;
    mark = path_push_key(d, camel);
    fn(d, v, (void **)out);
    path_pop(d, mark);
}

/* Checks that j is an object and allocates a message of size bytes for it. */
static void *new_msg(struct dec *d, json_t *j, size_t size)
{
    void *p;

    if (!json_is_object(j)) {
        fail(d, NULL, "not an object");
        return NULL;
    }
    p = opg_arena_alloc(d->arena, size);
    if (!p)
        too_big(d);
    return p;
}

/* ---- common ---- */

static int dec_key_value(struct dec *d, json_t *j, void **out);

static int dec_any_value(struct dec *d, json_t *j, void **out);

static int dec_array_value(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Common__V1__ArrayValue *a = new_msg(d, j, sizeof(*a));

    if (!a)
        return d->rc;
    *a = (Opentelemetry__Proto__Common__V1__ArrayValue)
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    *out = a;
    get_messages(d, j, "values", NULL, dec_any_value, &a->n_values, &a->values);
    return d->rc;
}

static int dec_kvlist_value(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Common__V1__KeyValueList *l = new_msg(d, j, sizeof(*l));

    if (!l)
        return d->rc;
    *l = (Opentelemetry__Proto__Common__V1__KeyValueList)
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    *out = l;
    get_messages(d, j, "values", NULL, dec_key_value, &l->n_values, &l->values);
    return d->rc;
}

/* Decodes an arrayValue or kvlistValue one nesting level below the current one. */
static void get_nested(struct dec *d, json_t *obj, const char *camel, const char *snake,
                       dec_msg_fn fn, void *out)
{
    if (d->rc)
        return;
    if (++d->depth > d->max_depth) {
        fail(d, camel, "AnyValue nesting depth exceeds the limit of %d", d->max_depth);
        return;
    }
    get_message(d, obj, camel, snake, fn, out);
    d->depth--;
}

static int dec_any_value(struct dec *d, json_t *j, void **out)
{
    static const struct {
        const char *camel;
        const char *snake;
    } keys[] = {
        {"stringValue", "string_value"}, {"boolValue", "bool_value"},
        {"intValue", "int_value"},       {"doubleValue", "double_value"},
        {"arrayValue", "array_value"},   {"kvlistValue", "kvlist_value"},
        {"bytesValue", "bytes_value"},
    };
    Opentelemetry__Proto__Common__V1__AnyValue *a = new_msg(d, j, sizeof(*a));
    int which = -1;

    if (!a)
        return d->rc;
    opentelemetry__proto__common__v1__any_value__init(a);
    *out = a;
    for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++) {
        if (!field(j, keys[i].camel, keys[i].snake))
            continue;
        if (which >= 0)
            return fail(d, NULL, "both %s and %s are set", keys[which].camel, keys[i].camel);
        which = i;
    }
    /* {} is a valid AnyValue without a value, as protobuf would decode it. */
    if (which < 0)
        return d->rc;
    switch (which) {
    case 0:
        get_string_bytes(d, j, "stringValue", "string_value", &a->string_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        break;
    case 1:
        get_bool(d, j, "boolValue", "bool_value", &a->bool_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        break;
    case 2:
        get_i64(d, j, "intValue", "int_value", &a->int_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        break;
    case 3:
        get_double(d, j, "doubleValue", "double_value", &a->double_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        break;
    case 4:
        get_nested(d, j, "arrayValue", "array_value", dec_array_value, &a->array_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        break;
    case 5:
        get_nested(d, j, "kvlistValue", "kvlist_value", dec_kvlist_value, &a->kvlist_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        break;
    default:
        get_bytes(d, j, "bytesValue", "bytes_value", &a->bytes_value);
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        break;
    }
    return d->rc;
}

static int dec_key_value(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Common__V1__KeyValue *kv = new_msg(d, j, sizeof(*kv));

    if (!kv)
        return d->rc;
    *kv = (Opentelemetry__Proto__Common__V1__KeyValue)
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    *out = kv;
    get_string(d, j, "key", NULL, &kv->key);
    get_message(d, j, "value", NULL, dec_any_value, &kv->value);
    return d->rc;
}

static int dec_scope(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Common__V1__InstrumentationScope)
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    *out = s;
    get_string(d, j, "name", NULL, &s->name);
    get_string(d, j, "version", NULL, &s->version);
    get_messages(d, j, "attributes", NULL, dec_key_value, &s->n_attributes, &s->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &s->dropped_attributes_count);
    return d->rc;
}

static int dec_entity_ref(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Common__V1__EntityRef *e = new_msg(d, j, sizeof(*e));

    if (!e)
        return d->rc;
    *e = (Opentelemetry__Proto__Common__V1__EntityRef)
        OPENTELEMETRY__PROTO__COMMON__V1__ENTITY_REF__INIT;
    *out = e;
    get_string(d, j, "schemaUrl", "schema_url", &e->schema_url);
    get_string(d, j, "type", NULL, &e->type);
    get_strings(d, j, "idKeys", "id_keys", &e->n_id_keys, &e->id_keys);
    get_strings(d, j, "descriptionKeys", "description_keys", &e->n_description_keys,
                &e->description_keys);
    return d->rc;
}

static int dec_resource(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Resource__V1__Resource *r = new_msg(d, j, sizeof(*r));

    if (!r)
        return d->rc;
    *r = (Opentelemetry__Proto__Resource__V1__Resource)
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    *out = r;
    get_messages(d, j, "attributes", NULL, dec_key_value, &r->n_attributes, &r->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &r->dropped_attributes_count);
    get_messages(d, j, "entityRefs", "entity_refs", dec_entity_ref, &r->n_entity_refs,
                 &r->entity_refs);
    return d->rc;
}

/* ---- traces ---- */

static int dec_event(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__Span__Event *e = new_msg(d, j, sizeof(*e));

    if (!e)
        return d->rc;
    *e = (Opentelemetry__Proto__Trace__V1__Span__Event)
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    *out = e;
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &e->time_unix_nano);
    get_string(d, j, "name", NULL, &e->name);
    get_messages(d, j, "attributes", NULL, dec_key_value, &e->n_attributes, &e->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &e->dropped_attributes_count);
    return d->rc;
}

static int dec_link(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__Span__Link *l = new_msg(d, j, sizeof(*l));

    if (!l)
        return d->rc;
    *l = (Opentelemetry__Proto__Trace__V1__Span__Link)
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    *out = l;
    get_id(d, j, "traceId", "trace_id", OPG_TRACE_ID_LEN, &l->trace_id);
    get_id(d, j, "spanId", "span_id", OPG_SPAN_ID_LEN, &l->span_id);
    get_string(d, j, "traceState", "trace_state", &l->trace_state);
    get_messages(d, j, "attributes", NULL, dec_key_value, &l->n_attributes, &l->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &l->dropped_attributes_count);
    get_u32(d, j, "flags", NULL, &l->flags);
    return d->rc;
}

static int dec_status(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__Status *s = new_msg(d, j, sizeof(*s));
    int code;

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Trace__V1__Status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    *out = s;
    get_string(d, j, "message", NULL, &s->message);
    if (get_enum(d, j, "code", NULL, opg_otlp_status_code_from_name, &code))
        s->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    return d->rc;
}

static int dec_span(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__Span *s = new_msg(d, j, sizeof(*s));
    int kind;

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Trace__V1__Span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    *out = s;
    get_id(d, j, "traceId", "trace_id", OPG_TRACE_ID_LEN, &s->trace_id);
    get_id(d, j, "spanId", "span_id", OPG_SPAN_ID_LEN, &s->span_id);
    get_string(d, j, "traceState", "trace_state", &s->trace_state);
    get_id(d, j, "parentSpanId", "parent_span_id", OPG_SPAN_ID_LEN, &s->parent_span_id);
    get_u32(d, j, "flags", NULL, &s->flags);
    get_string(d, j, "name", NULL, &s->name);
    if (get_enum(d, j, "kind", NULL, opg_otlp_span_kind_from_name, &kind))
        s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kind;
    get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", &s->start_time_unix_nano);
    get_u64(d, j, "endTimeUnixNano", "end_time_unix_nano", &s->end_time_unix_nano);
    get_messages(d, j, "attributes", NULL, dec_key_value, &s->n_attributes, &s->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &s->dropped_attributes_count);
    get_messages(d, j, "events", NULL, dec_event, &s->n_events, &s->events);
    get_u32(d, j, "droppedEventsCount", "dropped_events_count", &s->dropped_events_count);
    get_messages(d, j, "links", NULL, dec_link, &s->n_links, &s->links);
    get_u32(d, j, "droppedLinksCount", "dropped_links_count", &s->dropped_links_count);
    get_message(d, j, "status", NULL, dec_status, &s->status);
    return d->rc;
}

static int dec_scope_spans(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__ScopeSpans *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Trace__V1__ScopeSpans)
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    *out = s;
    get_message(d, j, "scope", NULL, dec_scope, &s->scope);
    get_messages(d, j, "spans", NULL, dec_span, &s->n_spans, &s->spans);
    get_string(d, j, "schemaUrl", "schema_url", &s->schema_url);
    return d->rc;
}

static int dec_resource_spans(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans *r = new_msg(d, j, sizeof(*r));

    if (!r)
        return d->rc;
    *r = (Opentelemetry__Proto__Trace__V1__ResourceSpans)
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    *out = r;
    get_message(d, j, "resource", NULL, dec_resource, &r->resource);
    get_messages(d, j, "scopeSpans", "scope_spans", dec_scope_spans, &r->n_scope_spans,
                 &r->scope_spans);
    get_string(d, j, "schemaUrl", "schema_url", &r->schema_url);
    return d->rc;
}

static int dec_trace_request(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        new_msg(d, j, sizeof(*req));

    if (!req)
        return d->rc;
    *req = (Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest)
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    *out = req;
    get_messages(d, j, "resourceSpans", "resource_spans", dec_resource_spans,
                 &req->n_resource_spans, &req->resource_spans);
    return d->rc;
}

/* ---- logs ---- */

static int dec_log_record(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Logs__V1__LogRecord *r = new_msg(d, j, sizeof(*r));
    int sev;

    if (!r)
        return d->rc;
    *r =
        (Opentelemetry__Proto__Logs__V1__LogRecord)OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    *out = r;
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &r->time_unix_nano);
    get_u64(d, j, "observedTimeUnixNano", "observed_time_unix_nano", &r->observed_time_unix_nano);
    if (get_enum(d, j, "severityNumber", "severity_number", opg_otlp_severity_from_name, &sev))
        r->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)sev;
    get_string(d, j, "severityText", "severity_text", &r->severity_text);
    get_message(d, j, "body", NULL, dec_any_value, &r->body);
    get_messages(d, j, "attributes", NULL, dec_key_value, &r->n_attributes, &r->attributes);
    get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count",
            &r->dropped_attributes_count);
    get_u32(d, j, "flags", NULL, &r->flags);
    get_id(d, j, "traceId", "trace_id", OPG_TRACE_ID_LEN, &r->trace_id);
    get_id(d, j, "spanId", "span_id", OPG_SPAN_ID_LEN, &r->span_id);
    get_string(d, j, "eventName", "event_name", &r->event_name);
    return d->rc;
}

static int dec_scope_logs(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Logs__V1__ScopeLogs *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s =
        (Opentelemetry__Proto__Logs__V1__ScopeLogs)OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    *out = s;
    get_message(d, j, "scope", NULL, dec_scope, &s->scope);
    get_messages(d, j, "logRecords", "log_records", dec_log_record, &s->n_log_records,
                 &s->log_records);
    get_string(d, j, "schemaUrl", "schema_url", &s->schema_url);
    return d->rc;
}

static int dec_resource_logs(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Logs__V1__ResourceLogs *r = new_msg(d, j, sizeof(*r));

    if (!r)
        return d->rc;
    *r = (Opentelemetry__Proto__Logs__V1__ResourceLogs)
        OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    *out = r;
    get_message(d, j, "resource", NULL, dec_resource, &r->resource);
    get_messages(d, j, "scopeLogs", "scope_logs", dec_scope_logs, &r->n_scope_logs, &r->scope_logs);
    get_string(d, j, "schemaUrl", "schema_url", &r->schema_url);
    return d->rc;
}

static int dec_logs_request(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        new_msg(d, j, sizeof(*req));

    if (!req)
        return d->rc;
    *req = (Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest)
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    *out = req;
    get_messages(d, j, "resourceLogs", "resource_logs", dec_resource_logs, &req->n_resource_logs,
                 &req->resource_logs);
    return d->rc;
}

/* ---- metrics ---- */

static int dec_exemplar(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__Exemplar *e = new_msg(d, j, sizeof(*e));
    json_t *as_double, *as_int;

    if (!e)
        return d->rc;
    *e = (Opentelemetry__Proto__Metrics__V1__Exemplar)
        OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT;
    *out = e;
    get_messages(d, j, "filteredAttributes", "filtered_attributes", dec_key_value,
                 &e->n_filtered_attributes, &e->filtered_attributes);
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &e->time_unix_nano);
    as_double = field(j, "asDouble", "as_double");
    as_int = field(j, "asInt", "as_int");
    if (as_double && as_int)
        return fail(d, NULL, "both asDouble and asInt are set");
    if (as_double) {
        get_double(d, j, "asDouble", "as_double", &e->as_double);
        e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
    } else if (as_int) {
        get_i64(d, j, "asInt", "as_int", &e->as_int);
        e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
    }
    get_id(d, j, "spanId", "span_id", OPG_SPAN_ID_LEN, &e->span_id);
    get_id(d, j, "traceId", "trace_id", OPG_TRACE_ID_LEN, &e->trace_id);
    return d->rc;
}

static int dec_number_point(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p = new_msg(d, j, sizeof(*p));
    json_t *as_double, *as_int;

    if (!p)
        return d->rc;
    *p = (Opentelemetry__Proto__Metrics__V1__NumberDataPoint)
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    *out = p;
    get_messages(d, j, "attributes", NULL, dec_key_value, &p->n_attributes, &p->attributes);
    get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", &p->start_time_unix_nano);
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &p->time_unix_nano);
    as_double = field(j, "asDouble", "as_double");
    as_int = field(j, "asInt", "as_int");
    if (as_double && as_int)
        return fail(d, NULL, "both asDouble and asInt are set");
    if (as_double) {
        get_double(d, j, "asDouble", "as_double", &p->as_double);
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    } else if (as_int) {
        get_i64(d, j, "asInt", "as_int", &p->as_int);
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    }
    get_messages(d, j, "exemplars", NULL, dec_exemplar, &p->n_exemplars, &p->exemplars);
    get_u32(d, j, "flags", NULL, &p->flags);
    return d->rc;
}

/*
 * proto3 optional doubles (sum, min, max) are one-field oneofs in protobuf-c:
 * presence is the *_case being set, even when the value is 0.
 */
static bool get_optional_double(struct dec *d, json_t *obj, const char *camel, double *out)
{
    if (d->rc || !field(obj, camel, NULL))
        return false;
    get_double(d, obj, camel, NULL, out);
    return true;
}

static int dec_histogram_point(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p = new_msg(d, j, sizeof(*p));

    if (!p)
        return d->rc;
    *p = (Opentelemetry__Proto__Metrics__V1__HistogramDataPoint)
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    *out = p;
    get_messages(d, j, "attributes", NULL, dec_key_value, &p->n_attributes, &p->attributes);
    get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", &p->start_time_unix_nano);
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &p->time_unix_nano);
    get_u64(d, j, "count", NULL, &p->count);
    if (get_optional_double(d, j, "sum", &p->sum))
        p->sum_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
    get_u64s(d, j, "bucketCounts", "bucket_counts", &p->n_bucket_counts, &p->bucket_counts);
    get_doubles(d, j, "explicitBounds", "explicit_bounds", &p->n_explicit_bounds,
                &p->explicit_bounds);
    get_messages(d, j, "exemplars", NULL, dec_exemplar, &p->n_exemplars, &p->exemplars);
    get_u32(d, j, "flags", NULL, &p->flags);
    if (get_optional_double(d, j, "min", &p->min))
        p->min_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
    if (get_optional_double(d, j, "max", &p->max))
        p->max_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
    return d->rc;
}

static int dec_buckets(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b =
        new_msg(d, j, sizeof(*b));

    if (!b)
        return d->rc;
    *b = (Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets)
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    *out = b;
    get_i32(d, j, "offset", NULL, &b->offset);
    get_u64s(d, j, "bucketCounts", "bucket_counts", &b->n_bucket_counts, &b->bucket_counts);
    return d->rc;
}

static int dec_exp_histogram_point(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *p = new_msg(d, j, sizeof(*p));

    if (!p)
        return d->rc;
    *p = (Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint)
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT;
    *out = p;
    get_messages(d, j, "attributes", NULL, dec_key_value, &p->n_attributes, &p->attributes);
    get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", &p->start_time_unix_nano);
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &p->time_unix_nano);
    get_u64(d, j, "count", NULL, &p->count);
    if (get_optional_double(d, j, "sum", &p->sum))
        p->sum_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
    get_i32(d, j, "scale", NULL, &p->scale);
    get_u64(d, j, "zeroCount", "zero_count", &p->zero_count);
    get_message(d, j, "positive", NULL, dec_buckets, &p->positive);
    get_message(d, j, "negative", NULL, dec_buckets, &p->negative);
    get_u32(d, j, "flags", NULL, &p->flags);
    get_messages(d, j, "exemplars", NULL, dec_exemplar, &p->n_exemplars, &p->exemplars);
    if (get_optional_double(d, j, "min", &p->min))
        p->min_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
    if (get_optional_double(d, j, "max", &p->max))
        p->max_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
    get_double(d, j, "zeroThreshold", "zero_threshold", &p->zero_threshold);
    return d->rc;
}

static int dec_quantile(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q =
        new_msg(d, j, sizeof(*q));

    if (!q)
        return d->rc;
    *q = (Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile)
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT;
    *out = q;
    get_double(d, j, "quantile", NULL, &q->quantile);
    get_double(d, j, "value", NULL, &q->value);
    return d->rc;
}

static int dec_summary_point(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *p = new_msg(d, j, sizeof(*p));

    if (!p)
        return d->rc;
    *p = (Opentelemetry__Proto__Metrics__V1__SummaryDataPoint)
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT;
    *out = p;
    get_messages(d, j, "attributes", NULL, dec_key_value, &p->n_attributes, &p->attributes);
    get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", &p->start_time_unix_nano);
    get_u64(d, j, "timeUnixNano", "time_unix_nano", &p->time_unix_nano);
    get_u64(d, j, "count", NULL, &p->count);
    get_double(d, j, "sum", NULL, &p->sum);
    get_messages(d, j, "quantileValues", "quantile_values", dec_quantile, &p->n_quantile_values,
                 &p->quantile_values);
    get_u32(d, j, "flags", NULL, &p->flags);
    return d->rc;
}

static void get_temporality(struct dec *d, json_t *j,
                            Opentelemetry__Proto__Metrics__V1__AggregationTemporality *out)
{
    int t;

    if (get_enum(d, j, "aggregationTemporality", "aggregation_temporality",
                 opg_otlp_temporality_from_name, &t))
        *out = (Opentelemetry__Proto__Metrics__V1__AggregationTemporality)t;
}

static int dec_gauge(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__Gauge *g = new_msg(d, j, sizeof(*g));

    if (!g)
        return d->rc;
    *g = (Opentelemetry__Proto__Metrics__V1__Gauge)OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    *out = g;
    get_messages(d, j, "dataPoints", "data_points", dec_number_point, &g->n_data_points,
                 &g->data_points);
    return d->rc;
}

static int dec_sum(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__Sum *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Metrics__V1__Sum)OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
    *out = s;
    get_messages(d, j, "dataPoints", "data_points", dec_number_point, &s->n_data_points,
                 &s->data_points);
    get_temporality(d, j, &s->aggregation_temporality);
    get_bool(d, j, "isMonotonic", "is_monotonic", &s->is_monotonic);
    return d->rc;
}

static int dec_histogram(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__Histogram *h = new_msg(d, j, sizeof(*h));

    if (!h)
        return d->rc;
    *h = (Opentelemetry__Proto__Metrics__V1__Histogram)
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    *out = h;
    get_messages(d, j, "dataPoints", "data_points", dec_histogram_point, &h->n_data_points,
                 &h->data_points);
    get_temporality(d, j, &h->aggregation_temporality);
    return d->rc;
}

static int dec_exp_histogram(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram *h = new_msg(d, j, sizeof(*h));

    if (!h)
        return d->rc;
    *h = (Opentelemetry__Proto__Metrics__V1__ExponentialHistogram)
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    *out = h;
    get_messages(d, j, "dataPoints", "data_points", dec_exp_histogram_point, &h->n_data_points,
                 &h->data_points);
    get_temporality(d, j, &h->aggregation_temporality);
    return d->rc;
}

static int dec_summary(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__Summary *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Metrics__V1__Summary)
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    *out = s;
    get_messages(d, j, "dataPoints", "data_points", dec_summary_point, &s->n_data_points,
                 &s->data_points);
    return d->rc;
}

static int dec_metric(struct dec *d, json_t *j, void **out)
{
    static const struct {
        const char *camel;
        const char *snake;
        dec_msg_fn fn;
        Opentelemetry__Proto__Metrics__V1__Metric__DataCase data_case;
    } kinds[] = {
        {"gauge", NULL, dec_gauge, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE},
        {"sum", NULL, dec_sum, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM},
        {"histogram", NULL, dec_histogram,
         OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM},
        {"exponentialHistogram", "exponential_histogram", dec_exp_histogram,
         OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM},
        {"summary", NULL, dec_summary, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY},
    };
    Opentelemetry__Proto__Metrics__V1__Metric *m = new_msg(d, j, sizeof(*m));
    int which = -1;

    if (!m)
        return d->rc;
    *m = (Opentelemetry__Proto__Metrics__V1__Metric)OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    *out = m;
    get_string(d, j, "name", NULL, &m->name);
    get_string(d, j, "description", NULL, &m->description);
    get_string(d, j, "unit", NULL, &m->unit);
    get_messages(d, j, "metadata", NULL, dec_key_value, &m->n_metadata, &m->metadata);
    for (int i = 0; i < (int)(sizeof(kinds) / sizeof(kinds[0])) && !d->rc; i++) {
        if (!field(j, kinds[i].camel, kinds[i].snake))
            continue;
        if (which >= 0)
            return fail(d, NULL, "both %s and %s are set", kinds[which].camel, kinds[i].camel);
        which = i;
    }
    /* No data is legal protobuf; validation decides what to do with it. */
    if (which < 0 || d->rc)
        return d->rc;
    /* All the union members are pointers; gauge stands for whichever is set. */
    get_message(d, j, kinds[which].camel, kinds[which].snake, kinds[which].fn, &m->gauge);
    m->data_case = kinds[which].data_case;
    return d->rc;
}

static int dec_scope_metrics(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *s = new_msg(d, j, sizeof(*s));

    if (!s)
        return d->rc;
    *s = (Opentelemetry__Proto__Metrics__V1__ScopeMetrics)
        OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    *out = s;
    get_message(d, j, "scope", NULL, dec_scope, &s->scope);
    get_messages(d, j, "metrics", NULL, dec_metric, &s->n_metrics, &s->metrics);
    get_string(d, j, "schemaUrl", "schema_url", &s->schema_url);
    return d->rc;
}

static int dec_resource_metrics(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *r = new_msg(d, j, sizeof(*r));

    if (!r)
        return d->rc;
    *r = (Opentelemetry__Proto__Metrics__V1__ResourceMetrics)
        OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    *out = r;
    get_message(d, j, "resource", NULL, dec_resource, &r->resource);
    get_messages(d, j, "scopeMetrics", "scope_metrics", dec_scope_metrics, &r->n_scope_metrics,
                 &r->scope_metrics);
    get_string(d, j, "schemaUrl", "schema_url", &r->schema_url);
    return d->rc;
}

static int dec_metrics_request(struct dec *d, json_t *j, void **out)
{
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        new_msg(d, j, sizeof(*req));

    if (!req)
        return d->rc;
    *req = (Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest)
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    *out = req;
    get_messages(d, j, "resourceMetrics", "resource_metrics", dec_resource_metrics,
                 &req->n_resource_metrics, &req->resource_metrics);
    return d->rc;
}

/* ---- entry points ---- */

/* Parses body and runs fn on the top-level object; *out is set only on success. */
static int decode_body(const char *body, size_t len, struct opg_arena *arena, int max_depth,
                       dec_msg_fn fn, void **out, char *err, size_t errlen)
{
    struct dec d = {.arena = arena, .max_depth = max_depth, .err = err, .errlen = errlen};
    json_error_t jerr;
    void *msg = NULL;
    json_t *root;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    /* Flags 0: duplicate keys are allowed (the last wins, as in most JSON
     * parsers) and "\u0000" is refused, since strings become C strings. */
    root = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
    if (!root)
        return fail(&d, NULL, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    if (!json_is_object(root))
        fail(&d, NULL, "the request body is not a JSON object");
    else
        fn(&d, root, &msg);
    json_decref(root);
    if (!d.rc)
        *out = msg;
    return d.rc;
}

int opg_otlp_json_decode_traces(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **out, char *err,
    size_t errlen)
{
    return decode_body(body, len, arena, max_depth, dec_trace_request, (void **)out, err, errlen);
}

int opg_otlp_json_decode_logs(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest **out, char *err,
    size_t errlen)
{
    return decode_body(body, len, arena, max_depth, dec_logs_request, (void **)out, err, errlen);
}

int opg_otlp_json_decode_metrics(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest **out, char *err,
    size_t errlen)
{
    return decode_body(body, len, arena, max_depth, dec_metrics_request, (void **)out, err, errlen);
}
