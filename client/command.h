/* Command: one stage0c subcommand. Each cmd-*.c file defines its Command objects and the
 * table in command.c lists them; nothing else knows about individual commands. A command
 * prints its own output and diagnostics and returns the ExitStatus of the program. */
#pragma once

#include "exit-status.h"
#include "options.h"
#include "varlink-client.h"

typedef struct Command {
        CommandSyntax syntax;   /* first, so options_parse's result leads back here */
        const char *summary;
        ExitStatus (*run)(const Options *options);
} Command;

extern const Command command_info;
extern const Command command_introspect;
extern const Command command_call;
extern const Command command_image;
/* Pods: cmd-pod.c */
extern const Command command_prepare;
extern const Command command_list;
extern const Command command_status;
extern const Command command_cat_manifest;
extern const Command command_rm;
/* Pods: cmd-run.c */
extern const Command command_run;
extern const Command command_run_prepared;
extern const Command command_wait;
extern const Command command_stop;
extern const Command command_logs;
/* Pods: cmd-gc.c */
extern const Command command_gc;

/* All commands, in the order --help lists them. */
extern const Command *const commands[];
extern const size_t n_commands;

const Command *command_find(const char *name);
/* The lookup options_parse wants. */
const CommandSyntax *command_syntax_find(const char *name);
const Command *command_from_syntax(const CommandSyntax *syntax);

/* Connects to options->socket; on failure prints why and returns -errno. */
int command_connect(const Options *options, VarlinkClient **ret);

/* Prints the outcome of a call that did not succeed: a transport failure (r < 0) or the error
 * the service answered. Returns the matching ExitStatus, EXIT_STATUS_SUCCESS when there was
 * nothing to report. */
ExitStatus command_report(const Options *options, const char *method, int r,
                          const VarlinkReply *reply);

/* One call with one reply, reported as above on failure. */
ExitStatus command_call_simple(const Options *options, VarlinkClient *client,
                               const char *method, json_object *parameters, VarlinkReply *ret);

/* Writes text to stdout; a newline follows unless text ends with one. */
void command_print(const char *text);
