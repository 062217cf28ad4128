/* A pod's output, kept in its directory: `logs` holds one JSON line per chunk,
 * {"stream":"stdout","timeUsec":N,"data":"<base64>"}, which is io.stage0.Pods.LogChunk as it
 * goes on the wire. When `logs` outgrows its limit it becomes `logs.1` (replacing the older
 * one) and a new `logs` starts, so a pod never holds more than two limits of output. The
 * worker writes; stage0d reads, and follows by watching the pod directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define POD_LOGS_SIZE_MAX (8u * 1024u * 1024u)
#define POD_LOG_CHUNK_MAX (64u * 1024u)

typedef enum PodLogStream {
        POD_LOG_STDOUT,
        POD_LOG_STDERR,
        _POD_LOG_STREAM_MAX,
        _POD_LOG_STREAM_INVALID = -22,
} PodLogStream;

const char *pod_log_stream_to_string(PodLogStream s);
PodLogStream pod_log_stream_from_string(const char *s);

typedef struct PodLogWriter {
        int dir_fd;
        int fd;
        uint64_t size;
        uint64_t size_max;
} PodLogWriter;

/* Opens (appending to) <pod_dir>/logs. size_max 0 selects POD_LOGS_SIZE_MAX. */
int pod_log_writer_open(PodLogWriter *w, int pod_dir_fd, uint64_t size_max);
void pod_log_writer_close(PodLogWriter *w);
/* Appends one chunk (at most POD_LOG_CHUNK_MAX bytes; longer data is split). */
int pod_log_write(PodLogWriter *w, PodLogStream stream, uint64_t time_usec, const void *data, size_t size);

typedef struct PodLogReader {
        int dir_fd;                   /* the pod directory, which may move between places */
        int fd;                       /* the file being read */
        dev_t dev;
        ino_t ino;
        bool in_rotated;              /* reading logs.1 before logs */
        char *partial;                /* a line not yet complete */
        size_t n_partial;
} PodLogReader;

/* Starts at the oldest output kept (logs.1, then logs). Takes a dup of pod_dir_fd. */
int pod_log_reader_open(PodLogReader *r, int pod_dir_fd);
void pod_log_reader_close(PodLogReader *r);
/* Appends the chunks written since the last call to chunks (a JSON array of LogChunk),
 * following a rotation. Returns how many were added. */
int pod_log_read(PodLogReader *r, json_object *chunks);
