/* ErrorDetail: what was wrong with refused input and where, carried from the code that found
 * it to the protocol edge, which turns it into a named varlink error (InvalidImage,
 * InvalidManifest, InvalidPodSpec, ...). Functions that take one fill it only when they return
 * the error it explains. */
#pragma once

typedef struct ErrorDetail {
        char field[256];      /* a JSON path ("app.ports[1].port") or an archive path */
        char reason[512];     /* one line, no trailing period */
} ErrorDetail;

/* Fills d (which may be NULL) and returns r, so call sites read
 * `return error_detail_set(d, -EINVAL, "labels[2].name", "not an ACIdentifier: %s", v);`. */
int error_detail_set(ErrorDetail *d, int r, const char *field, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
