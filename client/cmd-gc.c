/* gc: rkt's `gc` — Pods.GarbageCollect with --grace-period, --expire-prepared and
 * --mark-only; prints what was collected, marked and left for later. */
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cmd-image.h"
#include "command.h"

#define METHOD_GC "io.stage0.Pods.GarbageCollect"

static const CommandFlag gc_flags[] = {
        { "--grace-period", true },
        { "--expire-prepared", true },
        { "--mark-only", false },
};

static int add_duration(json_object *p, const Options *options, const char *flag, const char *key) {
        const char *text = options_flag(options, flag);
        uint64_t usec;

        if (!text)
                return 0;
        if (image_duration_parse(text, &usec) < 0) {
                fprintf(stderr, "stage0c: gc: %s needs a duration such as 30m, 24h or 1h30m, not '%s'\n",
                        flag, text);
                return -EINVAL;
        }
        return json_object_object_add(p, key, json_object_new_int64((int64_t) usec)) < 0 ? -ENOMEM : 0;
}

static void print_list(const char *what, json_object *list) {
        for (size_t i = 0; list && i < json_object_array_length(list); i++)
                printf("%s %s\n", what, json_object_get_string(json_object_array_get_idx(list, i)));
}

static ExitStatus gc_run(const Options *options) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *p = json_object_new_object();
        VarlinkClient *client = NULL;
        json_object *skipped;
        ExitStatus status;
        int r;

        if (!p)
                return EXIT_STATUS_CONNECTION;
        if ((r = add_duration(p, options, "--grace-period", "gracePeriodUsec")) < 0 ||
            (r = add_duration(p, options, "--expire-prepared", "expirePreparedUsec")) < 0)
                return EXIT_STATUS_USAGE;
        if (options_flag(options, "--mark-only"))
                json_object_object_add(p, "markOnly", json_object_new_boolean(1));
        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        status = command_call_simple(options, client, METHOD_GC, p, &reply);
        varlink_client_free(client);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json) {
                command_print(json_object_to_json_string_ext(reply.parameters,
                        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
                return EXIT_STATUS_SUCCESS;
        }
        print_list("marked", json_object_object_get(reply.parameters, "marked"));
        print_list("collected", json_object_object_get(reply.parameters, "collected"));
        skipped = json_object_object_get(reply.parameters, "skipped");
        for (size_t i = 0; skipped && i < json_object_array_length(skipped); i++) {
                json_object *s = json_object_array_get_idx(skipped, i);

                printf("skipped %s: %s\n", json_object_get_string(json_object_object_get(s, "uuid")),
                       json_object_get_string(json_object_object_get(s, "reason")));
        }
        return EXIT_STATUS_SUCCESS;
}

const Command command_gc = {
        .syntax = {
                .name = "gc",
                .usage = "[--grace-period DURATION] [--expire-prepared DURATION] [--mark-only]",
                .flags = gc_flags,
                .n_flags = ELEMENTSOF(gc_flags),
        },
        .summary = "Collect pods as rkt gc does: exited pods are marked, then removed once\n"
                   "marked longer than --grace-period (default 30m); aborted prepares, and\n"
                   "prepared pods older than --expire-prepared (default 24h), are removed.",
        .run = gc_run,
};
