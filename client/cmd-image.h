/* The pure parts of `stage0c image`: image references, labels and durations as people write
 * them on the command line, and the text shown for IDs, sizes, times and import progress.
 * Nothing here prints or talks to the daemon. Parsers return 0 or -EINVAL (-ERANGE for a
 * number out of range) and explain a refusal in the caller's buffer; formatters write a NUL-
 * terminated string of at most size bytes into buf and return buf. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define IMAGE_ID_PREFIX "sha512-"
/* An ID prefix names at least "sha512-" and this many hex digits (the daemon's rule too). */
#define IMAGE_ID_HEX_MIN 2
#define IMAGE_ID_HEX_MAX 128
/* rkt's trimmed ID: "sha512-" and 12 hex digits. */
#define IMAGE_ID_SHORT_HEX 12
/* Enough for any string the formatters below produce. */
#define IMAGE_TEXT_MAX 128

/* Adds the label "NAME=VALUE" in text to the object labels. NAME must be non-empty and not
 * already in labels; VALUE may be empty. -ENOMEM, or -EINVAL with a reason. */
int image_label_add(json_object *labels, const char *text, char *error, size_t error_size);

/* Turns IMAGE into an io.stage0.Images ImageRef object: "sha512-HEX" (2 to 128 hex digits,
 * case folded) gives {"id": ...}; anything else is NAME[:VERSION], split at the last ':'
 * (AC identifiers hold no ':'), giving {"name": ..., "labels": {"version": ...}}. labels
 * (borrowed, may be NULL) are merged into the name form; with an ID they are refused, as is a
 * version given both ways. -ENOMEM, or -EINVAL with a reason. */
int image_ref_parse(const char *text, json_object *labels, json_object **ret, char *error,
                    size_t error_size);

/* A duration the Go way: one or more NUMBER UNIT pairs, NUMBER a decimal with an optional
 * fraction, UNIT one of h, m, s, ms, us, µs ("1h30m", "90s", "1.5h"), or a bare "0". Into
 * microseconds, rounded down; -ERANGE past INT64_MAX microseconds. */
int image_duration_parse(const char *text, uint64_t *ret_usec);

/* "sha512-" and the first 12 hex digits of id; anything that is not such an ID is copied. */
const char *image_id_short(const char *id, char *buf, size_t size);

/* "512 B", "1.5 KiB", "200.0 MiB": powers of 1024, one decimal above bytes. */
const char *image_size_format(uint64_t bytes, char *buf, size_t size);

/* A point in time for a table: "5 seconds ago", "3 minutes ago", "2 hours ago", "6 days ago"
 * within a week before now_usec, else the UTC time as "2006-01-02T15:04:05Z". */
const char *image_time_format(uint64_t usec, uint64_t now_usec, char *buf, size_t size);

/* One line of import progress: "[=====>    ]  45%  12.3 MiB / 27.0 MiB  5.2 MiB/s", or
 * without a known total (total < 0) "12.3 MiB  5.2 MiB/s". rate is in bytes per second. */
const char *image_progress_format(uint64_t done, int64_t total, double rate, char *buf,
                                  size_t size);
