/* The daemon's logging layer: one line per message on stderr, prefixed with the sd-daemon
 * "<N>" priority so journald (or a reader of the raw stream) keeps the level. Messages above
 * the current maximum level are dropped; debug is off unless asked for. Only main() and this
 * layer write to stderr.
 *
 * The log_*_errno() helpers return the negative errno they were given, so a call site can
 * `return log_error_errno(r, "...: %m")`; errno is set to the error while formatting, so %m
 * names it. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

void log_set_max_level(int level);
int log_get_max_level(void);

/* Writes one message at level (a syslog LOG_* priority). error is 0 or an errno (either sign);
 * returns -abs(error), or 0 when error is 0. */
int log_internal(int level, int error, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
int log_internalv(int level, int error, const char *format, va_list ap)
        __attribute__((format(printf, 3, 0)));

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_full(level, ...) (void) log_internal((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)
