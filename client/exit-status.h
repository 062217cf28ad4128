/* ExitStatus: what stage0c's exit code tells a script. Every outcome maps to exactly one
 * status; the numbers are part of the command-line interface and never change meaning. */
#pragma once

#include <errno.h>

typedef enum ExitStatus {
        EXIT_STATUS_SUCCESS = 0,
        EXIT_STATUS_SERVICE_ERROR = 1,  /* the service answered with an error */
        EXIT_STATUS_USAGE = 2,          /* unknown command or flag, bad argument */
        EXIT_STATUS_CONNECTION = 3,     /* cannot connect, timeout, peer closed, bad reply */
        _EXIT_STATUS_MAX,
        _EXIT_STATUS_INVALID = -EINVAL,
} ExitStatus;

const char *exit_status_to_string(ExitStatus status);
ExitStatus exit_status_from_string(const char *s);
/* One line for --help. */
const char *exit_status_description(ExitStatus status);
/* The status of a finished call: r < 0 is a transport failure, an error name a service error. */
ExitStatus exit_status_from_call(int r, const char *error);
