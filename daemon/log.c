/* Logging to stderr with sd-daemon priority prefixes. Each message goes out in a single write,
 * so lines from one process never interleave mid-line; a failed write is dropped (there is
 * nowhere left to report it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static int log_max_level = LOG_INFO;

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

static int errno_negative(int error) {
        return error > 0 ? -error : error;
}

int log_internalv(int level, int error, const char *format, va_list ap) {
        char line[LOG_LINE_MAX];
        int saved = errno, n, m;

        if ((level & LOG_PRIMASK) > log_max_level)
                return errno_negative(error);

        n = snprintf(line, sizeof(line), "<%d>", level & LOG_PRIMASK);
        /* %m in the format names this error rather than whatever errno happens to hold. */
        errno = error < 0 ? -error : error;
        m = vsnprintf(line + n, sizeof(line) - n - 1, format, ap);
        if (m < 0)
                m = 0;
        n += (size_t) m < sizeof(line) - n - 1 ? (size_t) m : sizeof(line) - n - 2;
        line[n++] = '\n';
        (void) !write(STDERR_FILENO, line, n);

        errno = saved;
        return errno_negative(error);
}

int log_internal(int level, int error, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_internalv(level, error, format, ap);
        va_end(ap);
        return r;
}
