/* ExitStatus tables. The names are stable identifiers for tests and documentation; the
 * descriptions are what `stage0c --help` shows. */
#include <string.h>

#include "cleanup.h"
#include "exit-status.h"

static const char *const exit_status_table[_EXIT_STATUS_MAX] = {
        [EXIT_STATUS_SUCCESS] = "success",
        [EXIT_STATUS_SERVICE_ERROR] = "service-error",
        [EXIT_STATUS_USAGE] = "usage",
        [EXIT_STATUS_CONNECTION] = "connection",
};

static const char *const exit_status_description_table[_EXIT_STATUS_MAX] = {
        [EXIT_STATUS_SUCCESS] = "success",
        [EXIT_STATUS_SERVICE_ERROR] = "the service answered with an error",
        [EXIT_STATUS_USAGE] = "usage error (unknown command or flag, bad argument)",
        [EXIT_STATUS_CONNECTION] = "connection or protocol error (cannot connect, timeout, "
                                   "peer closed, malformed reply)",
};

const char *exit_status_to_string(ExitStatus status) {
        if (status < 0 || status >= _EXIT_STATUS_MAX)
                return NULL;
        return exit_status_table[status];
}

ExitStatus exit_status_from_string(const char *s) {
        if (!s)
                return _EXIT_STATUS_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(exit_status_table); i++)
                if (strcmp(exit_status_table[i], s) == 0)
                        return (ExitStatus) i;
        return _EXIT_STATUS_INVALID;
}

const char *exit_status_description(ExitStatus status) {
        if (status < 0 || status >= _EXIT_STATUS_MAX)
                return NULL;
        return exit_status_description_table[status];
}

ExitStatus exit_status_from_call(int r, const char *error) {
        if (r < 0)
                return EXIT_STATUS_CONNECTION;
        if (error)
                return EXIT_STATUS_SERVICE_ERROR;
        return EXIT_STATUS_SUCCESS;
}
