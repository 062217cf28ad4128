/* call: any method with JSON parameters, printing the reply parameters. With --more every
 * reply is printed as it arrives, one compact document per line and flushed, so a reader
 * can follow a stream; with --oneway nothing is read back. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd-call.h"
#include "command.h"
#include "options.h"
#include "output.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

/* Reads all of input, bounded like a varlink message. */
static int input_read(FILE *input, char **ret, char *error, size_t error_size) {
        _cleanup_free_ char *buf = malloc(OPTIONS_JSON_SIZE_MAX + 1);
        size_t n;

        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, OPTIONS_JSON_SIZE_MAX + 1, input);
        if (ferror(input))
                return options_error(error, error_size, "cannot read parameters from stdin");
        if (n > OPTIONS_JSON_SIZE_MAX)
                return options_error(error, error_size, "parameters on stdin exceed %u bytes",
                                        OPTIONS_JSON_SIZE_MAX);
        if (memchr(buf, '\0', n))
                return options_error(error, error_size, "parameters on stdin contain a NUL byte");
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static bool method_valid(const char *method) {
        const char *dot = strrchr(method, '.');
        /* The interface is everything before the last dot; both parts must be there. */
        return dot && dot != method && dot[1] != '\0';
}

int call_request_parse(CallRequest *ret, const Options *options, FILE *input, char *error,
                       size_t error_size) {
        _cleanup_json_ json_object *parameters = NULL;
        _cleanup_free_ char *text = NULL;
        bool more = options_flag(options, "--more"), oneway = options_flag(options, "--oneway");
        const char *method, *json;
        int r;

        if (options->n_args < 1)
                return options_error(error, error_size, "missing METHOD");
        method = options->args[0];
        if (!method_valid(method))
                return options_error(error, error_size,
                                        "METHOD must be INTERFACE.Method, not '%s'", method);
        if (more && oneway)
                return options_error(error, error_size, "--more and --oneway exclude each other");

        json = options->n_args > 1 ? options->args[1] : "{}";
        if (strcmp(json, "-") == 0) {
                r = input_read(input, &text, error, error_size);
                if (r < 0)
                        return r;
                json = text;
        }
        r = options_parse_json_object(json, &parameters, error, error_size);
        if (r < 0)
                return r;

        *ret = (CallRequest) {
                .method = method,
                .parameters = TAKE_PTR(parameters),
                .flags = more ? VARLINK_CALL_MORE : oneway ? VARLINK_CALL_ONEWAY : 0,
        };
        return 0;
}

void call_request_done(CallRequest *request) {
        if (!request)
                return;
        if (request->parameters)
                json_object_put(request->parameters);
        request->parameters = NULL;
}

static ExitStatus print_reply(json_object *parameters, int flags) {
        _cleanup_free_ char *text = NULL;

        if (output_json(parameters, flags, &text) < 0) {
                fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
                return EXIT_STATUS_CONNECTION;
        }
        command_print(text);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus call_more(const Options *options, VarlinkClient *client,
                            const CallRequest *request) {
        int r;

        r = varlink_client_send(client, request->method, request->parameters, request->flags,
                                options->timeout_usec);
        if (r < 0)
                return command_report(options, request->method, r, NULL);
        for (;;) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                ExitStatus status;

                r = varlink_client_read(client, &reply, options->timeout_usec);
                status = command_report(options, request->method, r, &reply);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                status = print_reply(reply.parameters, OUTPUT_JSON_LINE);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                fflush(stdout);
                if (!reply.continues)
                        return EXIT_STATUS_SUCCESS;
        }
}

static ExitStatus call_send(const Options *options, const CallRequest *request) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        ExitStatus status;
        int r;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        if (request->flags & VARLINK_CALL_ONEWAY) {
                r = varlink_client_send(client, request->method, request->parameters,
                                        request->flags, options->timeout_usec);
                return command_report(options, request->method, r, NULL);
        }
        if (request->flags & VARLINK_CALL_MORE)
                return call_more(options, client, request);

        status = command_call_simple(options, client, request->method, request->parameters,
                                     &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        return print_reply(reply.parameters, OUTPUT_JSON_PRETTY);
}

static ExitStatus call_run(const Options *options) {
        _cleanup_(call_request_done) CallRequest request = {};
        char error[512] = "";
        int r;

        r = call_request_parse(&request, options, stdin, error, sizeof(error));
        if (r == -EINVAL) {
                fprintf(stderr, "%s: call: %s\n", PROGRAM_NAME, error);
                return EXIT_STATUS_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "%s: call: %s\n", PROGRAM_NAME, strerror(-r));
                return EXIT_STATUS_CONNECTION;
        }
        return call_send(options, &request);
}

static const CommandFlag call_flags[] = {
        { "--more", false },
        { "--oneway", false },
};

const Command command_call = {
        .syntax = {
                .name = "call",
                .usage = "METHOD [JSON] [--more] [--oneway]",
                .flags = call_flags,
                .n_flags = ELEMENTSOF(call_flags),
                .n_args_min = 1,
                .n_args_max = 2,
        },
        .summary = "Call METHOD with the JSON object JSON ('-' reads it from stdin) and\n"
                   "print the reply parameters; --more prints every reply as it arrives,\n"
                   "one per line; --oneway sends the call and expects no reply",
        .run = call_run,
};
