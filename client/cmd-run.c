/* The pod commands that run pods and follow them: run, run-prepared, wait, stop, logs.
 * Attached (the default), run and run-prepared stream the pod's output to stdout and stderr
 * as the daemon sends it and exit with the app's exit code, which the final reply carries;
 * --detach returns once the pod runs. A failure before the pod has run is reported with
 * stage0c's usual exit codes, so a script cannot tell "the app exited 1" from "the service
 * refused" by the code alone: --help says so, and --json shows which it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd-image.h"
#include "cmd-pod.h"
#include "json-member.h"
#include "output.h"

#define USEC_PER_SEC 1000000ULL
/* Stop replies once the pod has exited: after the grace period, and a forced stop on top. */
#define STOP_DEFAULT_USEC (10ULL * USEC_PER_SEC)

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

/* --- run, run-prepared --- */

/* The final reply of an attached run: the app's exit code becomes ours. */
static ExitStatus attached_end(const Options *options, const char *method, json_object *parameters) {
        int code;

        if (pod_args_exit_code(json_member_get(parameters, "pod"), &code) < 0)
                return pod_malformed(options, method);
        return (ExitStatus) code;
}

/* One reply of an attached run; sets *done on the last one. */
static ExitStatus attached_reply(const Options *options, const char *method,
                                 const VarlinkReply *reply, bool *done) {
        *done = !reply->continues;
        if (options->json) {
                ExitStatus status = pod_print_json(reply->parameters, OUTPUT_JSON_LINE);

                fflush(stdout);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
        } else {
                pod_warnings_print(reply->parameters);
                if (pod_chunks_write(reply->parameters, "output") < 0)
                        return pod_malformed(options, method);
        }
        return *done ? attached_end(options, method, reply->parameters) : EXIT_STATUS_SUCCESS;
}

static ExitStatus run_attached(const Options *options, const char *method, json_object *parameters) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        uint64_t timeout = pod_stream_timeout(options);
        int r;

        if (json_member_add(parameters, "output", json_object_new_boolean(1)) < 0)
                return pod_oom();
        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        r = varlink_client_send(client, method, parameters, VARLINK_CALL_MORE, options->timeout_usec);
        if (r < 0)
                return command_report(options, method, r, NULL);
        for (;;) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                ExitStatus status;
                bool done;

                r = varlink_client_read(client, &reply, timeout);
                status = command_report(options, method, r, &reply);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                status = attached_reply(options, method, &reply, &done);
                if (done || status != EXIT_STATUS_SUCCESS)
                        return status;
        }
}

static ExitStatus run_detached(const Options *options, const char *method, json_object *parameters) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        ExitStatus status;

        status = pod_call(options, method, parameters, options->timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (!json_member_string(reply.parameters, "uuid"))
                return pod_malformed(options, method);
        if (options->json)
                return pod_print_json(reply.parameters, OUTPUT_JSON_PRETTY);
        pod_warnings_print(reply.parameters);
        command_print(json_member_string(reply.parameters, "uuid"));
        return EXIT_STATUS_SUCCESS;
}

/* Parameters of Run or RunPrepared from the parsed command line; takes args' objects. */
static int run_parameters(PodArgs *args, json_object **ret) {
        _cleanup_json_ json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        if (args->spec && json_member_add(p, "spec", TAKE_PTR(args->spec)) < 0)
                return -ENOMEM;
        if (args->uuid && json_member_add(p, "uuid", json_object_new_string(args->uuid)) < 0)
                return -ENOMEM;
        if (args->options && json_member_add(p, "options", TAKE_PTR(args->options)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static ExitStatus run_common(const Command *command, const Options *given, PodArgsMode mode,
                             const char *method) {
        _cleanup_(pod_args_done) PodArgs args = {};
        _cleanup_json_ json_object *parameters = NULL;
        Options options;
        ExitStatus status;

        status = pod_command_args(command, given, mode, &args, &options);
        if (status != EXIT_STATUS_SUCCESS || args.help || args.version)
                return status;
        if (run_parameters(&args, &parameters) < 0)
                return pod_oom();
        if (args.detach)
                return run_detached(&options, method, parameters);
        return run_attached(&options, method, parameters);
}

static ExitStatus run_run(const Options *options) {
        return run_common(&command_run, options, POD_ARGS_RUN, POD_METHOD("Run"));
}

static ExitStatus run_prepared_run(const Options *options) {
        return run_common(&command_run_prepared, options, POD_ARGS_RUN_PREPARED,
                          POD_METHOD("RunPrepared"));
}

#define RUNTIME_FLAGS_HELP \
        "Runtime: --net NAME[:ARGS][,...] --hostname H --dns IP[,IP]|host|none\n" \
        "  --dns-search D --dns-opt O --dns-domain D --hosts-entry IP=HOST[,...]|host\n" \
        "  --ipc auto|private|parent --insecure-options capabilities,paths,seccomp|all-run\n" \
        "  --local-config DIR --interactive --mds-register --debug\n" \
        "Attached (the default), the pod's output is streamed and stage0c exits with\n" \
        "the exit code of the first app that failed (0 if none); a failure before the\n" \
        "pod ran exits 1, 2 or 3 as usual, which an app may also exit with (--json\n" \
        "tells them apart). --detach prints the UUID once the pod runs"

const Command command_run = {
        .syntax = {
                .name = "run",
                .usage = "IMAGE [APP FLAGS] [-- ARGS... ---] [IMAGE ...] [POD FLAGS] [RUNTIME FLAGS] [--detach]",
                .n_args_min = 0,
                .n_args_max = SIZE_MAX,
                .raw_args = true,
        },
        .summary = "Prepare and run a pod; takes the flags of prepare (but --quiet) and:\n"
                   RUNTIME_FLAGS_HELP,
        .run = run_run,
};

const Command command_run_prepared = {
        .syntax = {
                .name = "run-prepared",
                .usage = "UUID [RUNTIME FLAGS] [--detach]",
                .n_args_min = 0,
                .n_args_max = SIZE_MAX,
                .raw_args = true,
        },
        .summary = "Run a prepared pod.\n" RUNTIME_FLAGS_HELP,
        .run = run_prepared_run,
};

/* --- wait --- */

static ExitStatus wait_run(const Options *options) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(options->args[0]));
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = pod_call(options, POD_METHOD("Wait"), parameters, pod_stream_timeout(options),
                          &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        return pod_status_print(options, POD_METHOD("Wait"), reply.parameters);
}

const Command command_wait = {
        .syntax = {
                .name = "wait",
                .usage = "UUID",
                .n_args_min = 1,
                .n_args_max = 1,
        },
        .summary = "Wait until a pod has finished, then print its status lines",
        .run = wait_run,
};

/* --- stop --- */

static ExitStatus stop_one(const Options *options, const char *uuid, bool force,
                           const uint64_t *grace_usec) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(uuid));
        uint64_t grace = grace_usec ? *grace_usec : STOP_DEFAULT_USEC, timeout = options->timeout_usec;
        ExitStatus status;

        if (!parameters ||
            (force && json_member_add(parameters, "force", json_object_new_boolean(1)) < 0) ||
            (grace_usec &&
             json_member_add(parameters, "timeoutUsec", json_object_new_int64((int64_t) grace)) < 0))
                return pod_oom();
        /* The reply comes after the grace period; the reply timeout is on top of it. */
        if (timeout != VARLINK_TIMEOUT_INFINITY)
                timeout = grace > VARLINK_TIMEOUT_INFINITY - timeout ? VARLINK_TIMEOUT_INFINITY :
                                                                        timeout + grace;
        status = pod_call(options, POD_METHOD("Stop"), parameters, timeout, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return pod_print_json(reply.parameters, OUTPUT_JSON_LINE);
        command_print(json_member_string(json_member_get(reply.parameters, "pod"), "uuid") ?: uuid);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus stop_run(const Options *options) {
        const char *text = options_flag(options, "--stop-timeout");
        bool force = options_flag(options, "--force");
        ExitStatus worst = EXIT_STATUS_SUCCESS;
        uint64_t grace;
        int r;

        if (text) {
                r = image_duration_parse(text, &grace);
                if (r < 0) {
                        fprintf(stderr, "%s: stop: --stop-timeout needs a duration such as 10s, 1m30s or 0, not '%s'\n"
                                "Try '%s --help'.\n", PROGRAM_NAME, text, PROGRAM_NAME);
                        return EXIT_STATUS_USAGE;
                }
        }
        /* Every pod is tried; a connection failure (3) outranks a refusal (1). */
        for (size_t i = 0; i < options->n_args; i++) {
                ExitStatus status = stop_one(options, options->args[i], force, text ? &grace : NULL);

                if (status > worst)
                        worst = status;
        }
        return worst;
}

static const CommandFlag stop_flags[] = {
        { "--force", false },
        { "--stop-timeout", true },
};

const Command command_stop = {
        .syntax = {
                .name = "stop",
                .usage = "[--force] [--stop-timeout DURATION] UUID...",
                .flags = stop_flags,
                .n_flags = ELEMENTSOF(stop_flags),
                .n_args_min = 1,
                .n_args_max = SIZE_MAX,
        },
        .summary = "Stop running pods through their stage1 and wait until they have exited;\n"
                   "--stop-timeout (default 10s; e.g. 1m30s, 0 forces at once) is how long a\n"
                   "graceful stop may take before it is forced, --force forces at once.\n"
                   "(--timeout is stage0c's own: it is added to the wait for the reply)",
        .run = stop_run,
};

/* --- logs --- */

static ExitStatus logs_read(const Options *options, VarlinkClient *client, uint64_t timeout) {
        for (;;) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                ExitStatus status;
                int r;

                r = varlink_client_read(client, &reply, timeout);
                status = command_report(options, POD_METHOD("Logs"), r, &reply);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                if (options->json) {
                        status = pod_print_json(reply.parameters, OUTPUT_JSON_LINE);
                        fflush(stdout);
                } else if (pod_chunks_write(reply.parameters, "chunks") < 0)
                        status = pod_malformed(options, POD_METHOD("Logs"));
                if (status != EXIT_STATUS_SUCCESS || !reply.continues)
                        return status;
        }
}

static ExitStatus logs_run(const Options *options) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(options->args[0]));
        bool follow = options_flag(options, "-f") || options_flag(options, "--follow");
        int r;

        if (!parameters ||
            (follow && json_member_add(parameters, "follow", json_object_new_boolean(1)) < 0))
                return pod_oom();
        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        r = varlink_client_send(client, POD_METHOD("Logs"), parameters, VARLINK_CALL_MORE,
                                options->timeout_usec);
        if (r < 0)
                return command_report(options, POD_METHOD("Logs"), r, NULL);
        return logs_read(options, client, follow ? pod_stream_timeout(options) : options->timeout_usec);
}

static const CommandFlag logs_flags[] = {
        { "-f", false },
        { "--follow", false },
};

const Command command_logs = {
        .syntax = {
                .name = "logs",
                .usage = "[-f|--follow] UUID",
                .flags = logs_flags,
                .n_flags = ELEMENTSOF(logs_flags),
                .n_args_min = 1,
                .n_args_max = 1,
        },
        .summary = "Write a pod's output, as far as it is kept, to stdout and stderr; with\n"
                   "--follow keep writing until the pod has finished",
        .run = logs_run,
};
