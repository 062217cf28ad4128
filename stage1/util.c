/* Helpers for the stage1 programs. The log prefix is set once by main() and never changes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *log_program = "stage1";
static bool log_debug_on;

void log_setup(const char *program, bool debug) {
        log_program = program;
        log_debug_on = debug;
}

bool log_debug_enabled(void) {
        return log_debug_on;
}

static void log_v(const char *level, const char *fmt, va_list ap) {
        char buf[2048];
        int saved = errno;

        vsnprintf(buf, sizeof(buf), fmt, ap);
        /* One write per message so that lines from several processes do not interleave. */
        dprintf(STDERR_FILENO, "%s: %s%s\n", log_program, level, buf);
        errno = saved;
}

void log_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_v("error: ", fmt, ap);
        va_end(ap);
}

void log_warning(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_v("warning: ", fmt, ap);
        va_end(ap);
}

void log_debug(const char *fmt, ...) {
        va_list ap;
        if (!log_debug_on)
                return;
        va_start(ap, fmt);
        log_v("", fmt, ap);
        va_end(ap);
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NEG_ERRNO();
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + size, max + 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int write_all(int fd, const char *data, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, data, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const char *data, size_t size, mode_t mode) {
        char tmp[4096];
        int fd, r;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid()) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return NEG_ERRNO();
        r = write_all(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = NEG_ERRNO();
        close(fd);
        if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
                r = NEG_ERRNO();
        if (r < 0)
                unlinkat(dirfd, tmp, 0);
        return r;
}

int write_string_file(const char *path, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(value);
        ssize_t n;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NEG_ERRNO();
        n = write(fd, value, len);
        if (n < 0)
                return NEG_ERRNO();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int parse_int64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_uint32(const char *s, uint32_t *ret) {
        int64_t v;
        int r;

        r = parse_int64(s, &v);
        if (r < 0)
                return r;
        if (v < 0 || v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);
        char *p;

        if (!copy)
                return -ENOMEM;
        for (p = copy + 1; ; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
                        return NEG_ERRNO();
                *p = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}

bool uuid_is_valid(const char *s) {
        static const int dashes[] = { 8, 13, 18, 23 };
        size_t d = 0;

        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                if (d < ELEMENTSOF(dashes) && (int) i == dashes[d]) {
                        if (s[i] != '-')
                                return false;
                        d++;
                        continue;
                }
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return true;
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        if (v)
                while (v[n])
                        n++;
        return n;
}

/* Takes ownership of s, also on failure. */
int strv_push(char ***v, char *s) {
        size_t n = strv_length(*v);
        char **nv;

        if (!s)
                return -ENOMEM;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}
