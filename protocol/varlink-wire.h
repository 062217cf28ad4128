/* VarlinkWire: the framing of one varlink stream. Input is split at NUL bytes into messages,
 * each checked to be strict UTF-8 and exactly one JSON object; output is a queue of serialized
 * messages, each followed by its NUL. Both directions are bounded: a message (in or out) may
 * not exceed message_size_max and unsent output may not exceed output_max. The wire owns its
 * fd and never blocks on it; callers wait for readiness themselves. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

typedef struct VarlinkWire {
        int fd;
        char *in;
        size_t in_start;          /* first byte not yet consumed */
        size_t in_end;            /* end of the bytes read */
        size_t in_scanned;        /* [in_start, in_scanned) holds no NUL */
        size_t in_alloc;
        char *out;
        size_t out_start;
        size_t out_end;
        size_t out_alloc;
        size_t message_size_max;
        size_t output_max;
        bool eof;
        json_tokener *tokener;
} VarlinkWire;

int varlink_wire_init(VarlinkWire *w, int fd, size_t message_size_max, size_t output_max);
/* Closes the fd. Safe on a zeroed or half-initialized wire. */
void varlink_wire_deinit(VarlinkWire *w);

/* One read(2). Returns the number of bytes read, 0 at end of stream (then w->eof is set),
 * -EAGAIN when nothing is ready, or another negative errno. */
int varlink_wire_read(VarlinkWire *w);
/* Takes the next complete message off the input. Returns 1 with *ret set, 0 when no complete
 * message is buffered yet, -EMSGSIZE when more than message_size_max bytes arrived without a
 * NUL, -EBADMSG when a message is not strict UTF-8, not JSON or not an object. After an error
 * the stream is unusable. */
int varlink_wire_next(VarlinkWire *w, json_object **ret);
/* Bytes buffered but not yet taken as messages. */
size_t varlink_wire_input_pending(const VarlinkWire *w);

/* Appends one message to the output. -EMSGSIZE when it alone is larger than the message limit,
 * -ENOBUFS when it would push unsent output over output_max. Writes nothing by itself. */
int varlink_wire_queue(VarlinkWire *w, json_object *message);
/* Writes as much queued output as the socket takes. Returns 0 when all is written, 1 when some
 * remains (wait for POLLOUT), or a negative errno (-EPIPE, -ECONNRESET, ...). */
int varlink_wire_flush(VarlinkWire *w);
size_t varlink_wire_output_pending(const VarlinkWire *w);

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
bool varlink_utf8_valid(const char *s, size_t len);
