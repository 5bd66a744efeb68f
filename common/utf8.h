/* UTF-8 checks: telemetry strings are bytes until proven text. */
#ifndef OPG_UTF8_H
#define OPG_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool opg_utf8_valid(const char *s, size_t n);
/*
 * Length of the well-formed UTF-8 sequence at s[0..n), or 0 if the bytes
 * there do not start one. A NUL byte counts as a valid 1-byte sequence.
 */
size_t opg_utf8_seq_len(const unsigned char *s, size_t n);

#endif
