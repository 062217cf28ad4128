/* Small helpers shared by the stage1 programs: logging to stderr with the program's name,
 * whole-file reads and atomic writes, number parsing. Everything returns 0 or a negative
 * errno; only the log_* functions print, and only to stderr. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cleanup.h"

void log_setup(const char *program, bool debug);
bool log_debug_enabled(void);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads at most max bytes of a file (relative to dirfd) into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);
/* Writes the whole buffer to path through a temporary file and rename(2). */
int write_file_atomic_at(int dirfd, const char *path, const char *data, size_t size, mode_t mode);
/* Writes a short string to an existing file (cgroup and proc knobs): one write(2). */
int write_string_file(const char *path, const char *value);

int parse_int64(const char *s, int64_t *ret);
int parse_uint32(const char *s, uint32_t *ret);

/* mkdir -p for a path relative to dirfd; components that exist are accepted as they are. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);

bool uuid_is_valid(const char *s);

/* NULL-terminated string vectors. */
void strv_free(char **v);
size_t strv_length(char *const *v);
int strv_push(char ***v, char *s);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
