/* The command table and what every command shares: connecting and reporting failed calls.
 * Diagnostics go to stderr prefixed with the program name; with --json a service error is
 * also written to stdout as a document, so scripts read one stream. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "command.h"
#include "output.h"

const Command *const commands[] = {
        &command_info,
        &command_introspect,
        &command_call,
        &command_image,
        &command_prepare,
        &command_run,
        &command_run_prepared,
        &command_list,
        &command_status,
        &command_wait,
        &command_logs,
        &command_stop,
        &command_cat_manifest,
        &command_rm,
        &command_gc,
};
const size_t n_commands = ELEMENTSOF(commands);

const Command *command_find(const char *name) {
        for (size_t i = 0; i < n_commands; i++)
                if (strcmp(commands[i]->syntax.name, name) == 0)
                        return commands[i];
        return NULL;
}

const CommandSyntax *command_syntax_find(const char *name) {
        const Command *c = command_find(name);
        return c ? &c->syntax : NULL;
}

const Command *command_from_syntax(const CommandSyntax *syntax) {
        return (const Command *) ((const char *) syntax - offsetof(Command, syntax));
}

int command_connect(const Options *options, VarlinkClient **ret) {
        int r = varlink_client_connect(ret, options->socket);
        if (r < 0)
                fprintf(stderr, "%s: cannot connect to %s: %s\n", PROGRAM_NAME, options->socket,
                        strerror(-r));
        return r;
}

static const char *transport_error_string(int r) {
        switch (r) {
        case -ETIMEDOUT:
                return "timed out waiting for the reply";
        case -ECONNRESET:
        case -EPIPE:
                return "the service closed the connection";
        case -EBADMSG:
                return "malformed reply";
        case -EMSGSIZE:
                return "reply exceeds the message size limit";
        default:
                return strerror(-r);
        }
}

static void service_error_print(const Options *options, const VarlinkReply *reply) {
        _cleanup_free_ char *line = NULL, *doc = NULL;

        if (output_error_line(reply->error, reply->parameters, &line) < 0)
                fprintf(stderr, "%s: %s\n", PROGRAM_NAME, reply->error);
        else
                fprintf(stderr, "%s\n", line);
        if (options->json && output_error_json(reply->error, reply->parameters, &doc) >= 0)
                command_print(doc);
}

ExitStatus command_report(const Options *options, const char *method, int r,
                          const VarlinkReply *reply) {
        /* On a transport failure the reply was never filled in. */
        ExitStatus status = exit_status_from_call(r, r >= 0 && reply ? reply->error : NULL);

        if (status == EXIT_STATUS_CONNECTION)
                fprintf(stderr, "%s: %s: %s\n", PROGRAM_NAME, method, transport_error_string(r));
        else if (status == EXIT_STATUS_SERVICE_ERROR)
                service_error_print(options, reply);
        return status;
}

ExitStatus command_call_simple(const Options *options, VarlinkClient *client,
                               const char *method, json_object *parameters, VarlinkReply *ret) {
        int r = varlink_client_call(client, method, parameters, options->timeout_usec, ret);
        return command_report(options, method, r, ret);
}

void command_print(const char *text) {
        size_t len = strlen(text);

        fputs(text, stdout);
        if (len == 0 || text[len - 1] != '\n')
                fputc('\n', stdout);
}
