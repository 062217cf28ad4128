/* Varlink framing: NUL-separated JSON objects on a byte stream; see varlink-wire.h.
 * json-c stops at a raw NUL and accepts overlong or surrogate UTF-8, so the message boundary
 * is found here first, the bytes are checked here, and the parse must end exactly at the NUL. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "varlink-wire.h"

#define READ_SIZE (64u * 1024u)
#define JSON_DEPTH_MAX 64

int varlink_wire_init(VarlinkWire *w, int fd, size_t message_size_max, size_t output_max) {
        *w = (VarlinkWire) {
                .fd = fd,
                .message_size_max = message_size_max,
                .output_max = output_max,
        };
        w->tokener = json_tokener_new_ex(JSON_DEPTH_MAX);
        if (!w->tokener)
                return -ENOMEM;
        json_tokener_set_flags(w->tokener, JSON_TOKENER_STRICT);
        return 0;
}

void varlink_wire_deinit(VarlinkWire *w) {
        if (w->tokener)
                json_tokener_free(w->tokener);
        free(w->in);
        free(w->out);
        if (w->fd >= 0)
                close(w->fd);
        *w = (VarlinkWire) { .fd = -EBADF };
}

bool varlink_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;

        while (p < end) {
                unsigned c = *p;
                size_t n;
                unsigned cp, min;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 1, cp = c & 0x1F, min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 2, cp = c & 0x0F, min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 3, cp = c & 0x07, min = 0x10000;
                } else {
                        return false;
                }
                if ((size_t) (end - p) <= n)
                        return false;
                for (size_t i = 1; i <= n; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                p += n + 1;
        }
        return true;
}

/* Makes room for at least `want` more bytes after in_end, first by dropping consumed input. */
static int input_reserve(VarlinkWire *w, size_t want) {
        if (w->in_start > 0 && (w->in_start == w->in_end || w->in_alloc - w->in_end < want)) {
                size_t keep = w->in_end - w->in_start;

                memmove(w->in, w->in + w->in_start, keep);
                w->in_scanned -= w->in_start;
                w->in_end = keep;
                w->in_start = 0;
        }
        if (w->in_alloc - w->in_end >= want)
                return 0;

        size_t n = w->in_alloc ? w->in_alloc : READ_SIZE;
        while (n - w->in_end < want)
                n *= 2;
        char *p = realloc(w->in, n);
        if (!p)
                return -ENOMEM;
        w->in = p;
        w->in_alloc = n;
        return 0;
}

int varlink_wire_read(VarlinkWire *w) {
        int r;
        ssize_t n;

        /* Never buffer more than one message plus its NUL and one read's worth of the next:
         * a peer that streams bytes without a NUL is cut off at the limit. */
        if (w->in_end - w->in_start > w->message_size_max)
                return -EMSGSIZE;
        r = input_reserve(w, READ_SIZE);
        if (r < 0)
                return r;
        n = read(w->fd, w->in + w->in_end, w->in_alloc - w->in_end);
        if (n < 0)
                return errno == EINTR ? -EAGAIN : NEG_ERRNO();
        if (n == 0)
                w->eof = true;
        w->in_end += (size_t) n;
        return (int) n;
}

size_t varlink_wire_input_pending(const VarlinkWire *w) {
        return w->in_end - w->in_start;
}

static int parse_message(VarlinkWire *w, const char *msg, size_t len, json_object **ret) {
        json_object *o;

        if (len == 0 || !varlink_utf8_valid(msg, len))
                return -EBADMSG;
        json_tokener_reset(w->tokener);
        o = json_tokener_parse_ex(w->tokener, msg, (int) len);
        if (!o)
                return -EBADMSG;
        if (json_tokener_get_parse_end(w->tokener) != len ||
            !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 1;
}

int varlink_wire_next(VarlinkWire *w, json_object **ret) {
        char *nul;
        size_t len;
        int r;

        nul = w->in_end > w->in_scanned ?
                memchr(w->in + w->in_scanned, '\0', w->in_end - w->in_scanned) : NULL;
        if (!nul) {
                w->in_scanned = w->in_end;
                if (w->in_end - w->in_start > w->message_size_max)
                        return -EMSGSIZE;
                return 0;
        }
        len = (size_t) (nul - (w->in + w->in_start));
        if (len > w->message_size_max)
                return -EMSGSIZE;
        if (len > INT32_MAX)
                return -EMSGSIZE;
        r = parse_message(w, w->in + w->in_start, len, ret);
        w->in_start += len + 1;
        w->in_scanned = w->in_start;
        return r;
}

int varlink_wire_queue(VarlinkWire *w, json_object *message) {
        const char *s;
        size_t len, pending;

        s = json_object_to_json_string_length(message,
                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        if (len > w->message_size_max)
                return -EMSGSIZE;
        pending = w->out_end - w->out_start;
        if (pending + len + 1 > w->output_max)
                return -ENOBUFS;

        if (w->out_alloc - w->out_end < len + 1) {
                if (w->out_start > 0) {
                        memmove(w->out, w->out + w->out_start, pending);
                        w->out_start = 0;
                        w->out_end = pending;
                }
                if (w->out_alloc - w->out_end < len + 1) {
                        size_t n = w->out_alloc ? w->out_alloc : 4096;
                        while (n - w->out_end < len + 1)
                                n *= 2;
                        char *p = realloc(w->out, n);
                        if (!p)
                                return -ENOMEM;
                        w->out = p;
                        w->out_alloc = n;
                }
        }
        memcpy(w->out + w->out_end, s, len);
        w->out[w->out_end + len] = '\0';
        w->out_end += len + 1;
        return 0;
}

int varlink_wire_flush(VarlinkWire *w) {
        while (w->out_start < w->out_end) {
                ssize_t n = send(w->fd, w->out + w->out_start, w->out_end - w->out_start,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        return NEG_ERRNO();
                }
                w->out_start += (size_t) n;
        }
        w->out_start = w->out_end = 0;
        /* A burst of large replies should not pin its buffer for the connection's lifetime. */
        if (w->out_alloc > 1024u * 1024u) {
                free(w->out);
                w->out = NULL;
                w->out_alloc = 0;
        }
        return 0;
}

size_t varlink_wire_output_pending(const VarlinkWire *w) {
        return w->out_end - w->out_start;
}
