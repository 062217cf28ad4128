/* A pod's output on disk; see pod-logs.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "pod-logs.h"

#define LOGS "logs"
#define LOGS_ROTATED "logs.1"
#define READ_SIZE (64u * 1024u)
/* A line longer than this is not ours: skip it rather than buffer without bound. */
#define LINE_MAX_BYTES (4u * POD_LOG_CHUNK_MAX)

static const char *const stream_table[_POD_LOG_STREAM_MAX] = {
        [POD_LOG_STDOUT] = "stdout",
        [POD_LOG_STDERR] = "stderr",
};

const char *pod_log_stream_to_string(PodLogStream s) {
        return s >= 0 && s < _POD_LOG_STREAM_MAX ? stream_table[s] : NULL;
}

PodLogStream pod_log_stream_from_string(const char *s) {
        for (int i = 0; s && i < _POD_LOG_STREAM_MAX; i++)
                if (strcmp(stream_table[i], s) == 0)
                        return (PodLogStream) i;
        return _POD_LOG_STREAM_INVALID;
}

static int open_log(int dir_fd, const char *name, int flags) {
        int fd = openat(dir_fd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0640);

        return fd < 0 ? NEG_ERRNO() : fd;
}

int pod_log_writer_open(PodLogWriter *w, int pod_dir_fd, uint64_t size_max) {
        struct stat st;

        *w = (PodLogWriter) { .dir_fd = -EBADF, .fd = -EBADF,
                              .size_max = size_max ? size_max : POD_LOGS_SIZE_MAX };
        w->dir_fd = fcntl(pod_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (w->dir_fd < 0)
                return NEG_ERRNO();
        w->fd = open_log(w->dir_fd, LOGS, O_WRONLY | O_CREAT | O_APPEND);
        if (w->fd < 0)
                return w->fd;
        if (fstat(w->fd, &st) < 0)
                return NEG_ERRNO();
        w->size = (uint64_t) st.st_size;
        return 0;
}

void pod_log_writer_close(PodLogWriter *w) {
        if (w->fd >= 0)
                close(w->fd);
        if (w->dir_fd >= 0)
                close(w->dir_fd);
        w->fd = w->dir_fd = -EBADF;
}

static int rotate(PodLogWriter *w) {
        int fd;

        if (renameat(w->dir_fd, LOGS, w->dir_fd, LOGS_ROTATED) < 0)
                return NEG_ERRNO();
        fd = open_log(w->dir_fd, LOGS, O_WRONLY | O_CREAT | O_APPEND | O_EXCL);
        if (fd < 0)
                return fd;
        close(w->fd);
        w->fd = fd;
        w->size = 0;
        return 0;
}

static int write_record(PodLogWriter *w, PodLogStream stream, uint64_t time_usec,
                        const void *data, size_t size) {
        _cleanup_free_ char *line = NULL;
        size_t b64 = 4 * ((size + 2) / 3), n;
        int len;

        line = malloc(b64 + 128);
        if (!line)
                return -ENOMEM;
        len = snprintf(line, 128, "{\"stream\":\"%s\",\"timeUsec\":%llu,\"data\":\"",
                       pod_log_stream_to_string(stream), (unsigned long long) time_usec);
        n = (size_t) len + (size_t) EVP_EncodeBlock((unsigned char *) line + len, data, (int) size);
        memcpy(line + n, "\"}\n", 3);
        n += 3;
        if (w->size > 0 && w->size + n > w->size_max) {
                int r = rotate(w);
                if (r < 0)
                        return r;
        }
        /* One write(2) per line: readers never see half a record, except at the end. */
        if (write(w->fd, line, n) != (ssize_t) n)
                return errno ? NEG_ERRNO() : -EIO;
        w->size += n;
        return 0;
}

int pod_log_write(PodLogWriter *w, PodLogStream stream, uint64_t time_usec, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                size_t n = size < POD_LOG_CHUNK_MAX ? size : POD_LOG_CHUNK_MAX;
                int r = write_record(w, stream, time_usec, p, n);

                if (r < 0)
                        return r;
                p += n;
                size -= n;
        }
        return 0;
}

/* Reading. */

static int reader_open_file(PodLogReader *r, const char *name) {
        struct stat st;
        int fd = open_log(r->dir_fd, name, O_RDONLY);

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return NEG_ERRNO();
        }
        if (r->fd >= 0)
                close(r->fd);
        r->fd = fd;
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->n_partial = 0;
        return 0;
}

int pod_log_reader_open(PodLogReader *r, int pod_dir_fd) {
        int e;

        *r = (PodLogReader) { .dir_fd = -EBADF, .fd = -EBADF };
        r->dir_fd = fcntl(pod_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (r->dir_fd < 0)
                return NEG_ERRNO();
        e = reader_open_file(r, LOGS_ROTATED);
        if (e >= 0) {
                r->in_rotated = true;
                return 0;
        }
        if (e != -ENOENT)
                return e;
        e = reader_open_file(r, LOGS);
        /* No output yet is no error: the file comes with the first chunk. */
        return e == -ENOENT ? 0 : e;
}

void pod_log_reader_close(PodLogReader *r) {
        if (r->fd >= 0)
                close(r->fd);
        if (r->dir_fd >= 0)
                close(r->dir_fd);
        free(r->partial);
        *r = (PodLogReader) { .dir_fd = -EBADF, .fd = -EBADF };
}

static json_object *parse_line(const char *line, size_t len) {
        json_tokener *t = json_tokener_new();
        json_object *o = NULL, *stream, *data;

        if (!t)
                return NULL;
        o = json_tokener_parse_ex(t, line, (int) len);
        json_tokener_free(t);
        if (!o || !json_object_object_get_ex(o, "stream", &stream) ||
            pod_log_stream_from_string(json_object_get_string(stream)) < 0 ||
            !json_object_object_get_ex(o, "data", &data) || !json_object_is_type(data, json_type_string)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* Reads what is new in the current file and adds its complete lines. */
static int read_file(PodLogReader *r, json_object *chunks) {
        char buf[READ_SIZE];
        int added = 0;
        ssize_t n;

        while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
                char *p = realloc(r->partial, r->n_partial + (size_t) n);
                size_t start = 0;

                if (!p)
                        return -ENOMEM;
                r->partial = p;
                memcpy(p + r->n_partial, buf, (size_t) n);
                r->n_partial += (size_t) n;
                for (size_t i = 0; i < r->n_partial; i++) {
                        json_object *o;

                        if (p[i] != '\n')
                                continue;
                        o = parse_line(p + start, i - start);
                        if (o) {
                                json_object_array_add(chunks, o);
                                added++;
                        }
                        start = i + 1;
                }
                memmove(p, p + start, r->n_partial - start);
                r->n_partial -= start;
                if (r->n_partial > LINE_MAX_BYTES)
                        r->n_partial = 0;
        }
        return n < 0 ? NEG_ERRNO() : added;
}

int pod_log_read(PodLogReader *r, json_object *chunks) {
        struct stat st;
        int total = 0, n;

        for (;;) {
                if (r->fd < 0) {
                        n = reader_open_file(r, LOGS);
                        if (n == -ENOENT)
                                return total;
                        if (n < 0)
                                return n;
                }
                n = read_file(r, chunks);
                if (n < 0)
                        return n;
                total += n;
                /* Still the current file? Then we are done; else the writer rotated (or we
                 * were reading logs.1): go on with the new logs. */
                if (!r->in_rotated && fstatat(r->dir_fd, LOGS, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    st.st_dev == r->dev && st.st_ino == r->ino)
                        return total;
                if (!r->in_rotated && fstatat(r->dir_fd, LOGS, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return total;
                r->in_rotated = false;
                close(r->fd);
                r->fd = -EBADF;
        }
}
