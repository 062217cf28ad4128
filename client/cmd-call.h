/* CallRequest: a validated `stage0c call` — method, parameters and flags — ready to send. */
#pragma once

#include <stdio.h>
#include <json-c/json.h>

#include "options.h"

typedef struct CallRequest {
        const char *method;     /* borrowed from the options */
        json_object *parameters;        /* owned, always an object */
        unsigned flags;         /* VARLINK_CALL_MORE or VARLINK_CALL_ONEWAY */
} CallRequest;

/* Checks the arguments of call; JSON "-" is read from input. -EINVAL with a reason for a
 * usage error, -ENOMEM, or the read error. */
int call_request_parse(CallRequest *ret, const Options *options, FILE *input, char *error,
                       size_t error_size);
void call_request_done(CallRequest *request);
