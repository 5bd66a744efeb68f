/* Hex and base64 encoding, as OTLP JSON writes IDs (hex) and bytes (base64). */
#ifndef OPG_HEX_H
#define OPG_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
int opg_hex_digit(char c);

/* Writes 2*n lowercase hex digits and a NUL to out (room for 2*n+1). */
void opg_hex_encode(char *out, const uint8_t *in, size_t n);
/*
 * Decodes exactly 2*n hex digits (either case) from in[0..inlen) into out[n].
 * Returns 0, or -1 if inlen != 2*n or a character is not a hex digit.
 */
int opg_hex_decode(uint8_t *out, size_t n, const char *in, size_t inlen);

/* Length of the base64 (standard alphabet, padded) text for n bytes. */
size_t opg_base64_len(size_t n);
/* Writes opg_base64_len(n) characters and a NUL to out. */
void opg_base64_encode(char *out, const uint8_t *in, size_t n);
/*
 * Decodes standard or URL-safe base64, padded or not. out needs room for
 * inlen*3/4+3 bytes. Returns the decoded length, or -1 on bad input.
 */
long opg_base64_decode(uint8_t *out, const char *in, size_t inlen);

#endif
