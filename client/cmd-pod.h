/* What the pod commands (cmd-pod.c, cmd-run.c) share: reading an rkt-style command line into
 * PodArgs with stage0c's global options applied, calling io.stage0.Pods, and printing what
 * every pod reply may carry. Each function prints its own diagnostics and returns the
 * ExitStatus to exit with. */
#pragma once

#include "command.h"
#include "pod-spec-args.h"

#define POD_METHOD(name) "io.stage0.Pods." name

/* Parses options->args (all of the command's arguments, flags included) for mode. *effective
 * is *options with the global options found among the arguments applied. With --help or
 * --version it prints them and returns EXIT_STATUS_SUCCESS with ret->help/version set. */
ExitStatus pod_command_args(const Command *command, const Options *options, PodArgsMode mode,
                            PodArgs *ret, Options *effective);

/* The reply timeout for a call whose reply waits on a pod (wait, attached run, logs --follow):
 * no bound unless the user set --timeout. */
uint64_t pod_stream_timeout(const Options *options);

/* One call with one reply on a fresh connection, reported on failure. */
ExitStatus pod_call(const Options *options, const char *method, json_object *parameters,
                    uint64_t timeout_usec, VarlinkReply *reply);

/* reply.warnings as "stage0c: warning: OPTION: MESSAGE" lines on stderr. */
void pod_warnings_print(json_object *parameters);

/* The Pod in parameters["pod"] as status lines, or parameters as JSON with --json. */
ExitStatus pod_status_print(const Options *options, const char *method, json_object *parameters);

ExitStatus pod_print_json(json_object *value, int flags);
ExitStatus pod_oom(void);
ExitStatus pod_malformed(const Options *options, const char *method);

/* Writes the LogChunks of parameters[key] to stdout and stderr as they say; -EBADMSG for a
 * chunk that is not one. */
int pod_chunks_write(json_object *parameters, const char *key);
