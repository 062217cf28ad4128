/* Hex: lowercase hexadecimal, the one spelling of digests, keys and IDs in the store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2 * size digits and a NUL to ret. */
void hex_encode(const uint8_t *data, size_t size, char *ret);
/* True when the n characters of s are all lowercase hex digits. */
bool hex_is_lower(const char *s, size_t n);
