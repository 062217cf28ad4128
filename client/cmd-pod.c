/* The pod commands that describe and manage pods: prepare, list, status, cat-manifest, rm;
 * and the helpers of cmd-pod.h that cmd-run.c shares. prepare reads its command line with
 * PodArgs (rkt's syntax: flags after an image belong to it), the others with stage0c's
 * ordinary flags. Human output is rkt's (the UUID, a table, key=value lines); --json prints
 * the reply parameters as the daemon sent them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd-image.h"
#include "cmd-pod.h"
#include "config.h"
#include "json-member.h"
#include "output.h"

#define USEC_PER_SEC 1000000ULL
/* rkt's list shows this much of a UUID unless --full. */
#define UUID_SHORT 8

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

static const char *const pod_states[] = {
        "embryo", "preparing", "abortedPrepare", "prepared", "running", "exited",
        "exitedGarbage", "garbage", "deleting",
};

/* --- shared with cmd-run.c --- */

ExitStatus pod_oom(void) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
        return EXIT_STATUS_CONNECTION;
}

ExitStatus pod_malformed(const Options *options, const char *method) {
        return command_report(options, method, -EBADMSG, NULL);
}

ExitStatus pod_print_json(json_object *value, int flags) {
        _cleanup_free_ char *text = NULL;

        if (output_json(value, flags, &text) < 0)
                return pod_oom();
        command_print(text);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus usage(const char *command, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static ExitStatus usage(const char *command, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "%s: %s: ", PROGRAM_NAME, command);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s %s --help'.\n", PROGRAM_NAME, command);
        return EXIT_STATUS_USAGE;
}

static void command_usage_print(const Command *command) {
        printf("Usage: %s %s %s\n\n%s\n", PROGRAM_NAME, command->syntax.name, command->syntax.usage,
               command->summary);
}

ExitStatus pod_command_args(const Command *command, const Options *options, PodArgsMode mode,
                            PodArgs *ret, Options *effective) {
        extern char **environ;
        const PodArgsContext context = { .environ = environ };
        char error[1024] = "";
        int r;

        r = pod_args_parse(ret, mode, options->args, options->n_args, &context, error,
                           sizeof(error));
        if (r == -ENOMEM)
                return pod_oom();
        if (r < 0)
                return usage(command->syntax.name, "%s", error);
        *effective = *options;
        effective->json = options->json || ret->json;
        if (ret->socket)
                effective->socket = ret->socket;
        if (ret->timeout_set)
                effective->timeout_usec = ret->timeout_usec;
        if (ret->help)
                command_usage_print(command);
        else if (ret->version)
                printf("%s %s\n", PROGRAM_NAME, STAGE0_VERSION);
        return EXIT_STATUS_SUCCESS;
}

uint64_t pod_stream_timeout(const Options *options) {
        /* Options does not say whether --timeout was given; the default value stands for
         * "not given", and a user who wants exactly 45 s per reply loses nothing. */
        if (options->timeout_usec == OPTIONS_TIMEOUT_DEFAULT_SEC * USEC_PER_SEC)
                return VARLINK_TIMEOUT_INFINITY;
        return options->timeout_usec;
}

ExitStatus pod_call(const Options *options, const char *method, json_object *parameters,
                    uint64_t timeout_usec, VarlinkReply *reply) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        int r;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        r = varlink_client_call(client, method, parameters, timeout_usec, reply);
        return command_report(options, method, r, reply);
}

void pod_warnings_print(json_object *parameters) {
        json_object *warnings = json_member_get(parameters, "warnings");

        if (!json_object_is_type(warnings, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(warnings); i++) {
                json_object *w = json_object_array_get_idx(warnings, i);
                const char *option = json_member_string(w, "option");

                fprintf(stderr, "%s: warning: %s%s%s\n", PROGRAM_NAME, option ?: "",
                        option ? ": " : "", json_member_string(w, "message") ?: "?");
        }
}

static int chunk_write(json_object *chunk) {
        const char *stream = json_member_string(chunk, "stream");
        const char *data = json_member_string(chunk, "data");
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t n;
        FILE *out;
        int r;

        if (!stream || !data)
                return -EBADMSG;
        if (strcmp(stream, "stdout") == 0)
                out = stdout;
        else if (strcmp(stream, "stderr") == 0)
                out = stderr;
        else
                return -EBADMSG;
        r = pod_args_base64_decode(data, &bytes, &n);
        if (r < 0)
                return r;
        /* A closed stdout is the reader's choice; the pod goes on and so does the call. */
        if (n > 0)
                (void) fwrite(bytes, 1, n, out);
        fflush(out);
        return 0;
}

int pod_chunks_write(json_object *parameters, const char *key) {
        json_object *chunks = json_member_get(parameters, key);

        if (!chunks)
                return 0;
        if (!json_object_is_type(chunks, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(chunks); i++) {
                int r = chunk_write(json_object_array_get_idx(chunks, i));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- prepare --- */

static ExitStatus prepare_result(const Options *options, const PodArgs *args, json_object *parameters) {
        const char *uuid = json_member_string(parameters, "uuid");

        if (!uuid)
                return pod_malformed(options, POD_METHOD("Prepare"));
        if (options->json)
                return pod_print_json(parameters, OUTPUT_JSON_PRETTY);
        pod_warnings_print(parameters);
        if (!args->quiet && isatty(STDERR_FILENO))
                fprintf(stderr, "%s: pod %s prepared\n", PROGRAM_NAME, uuid);
        command_print(uuid);
        return EXIT_STATUS_SUCCESS;
}

/* On a terminal the pod's UUID is shown as soon as it exists, and then when it is ready. */
static ExitStatus prepare_follow(const Options *options, const PodArgs *args,
                                 json_object *parameters) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        int r;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        r = varlink_client_send(client, POD_METHOD("Prepare"), parameters, VARLINK_CALL_MORE,
                                options->timeout_usec);
        if (r < 0)
                return command_report(options, POD_METHOD("Prepare"), r, NULL);
        for (;;) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                ExitStatus status;

                r = varlink_client_read(client, &reply, options->timeout_usec);
                status = command_report(options, POD_METHOD("Prepare"), r, &reply);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                if (!reply.continues)
                        return prepare_result(options, args, reply.parameters);
                fprintf(stderr, "%s: preparing pod %s\n", PROGRAM_NAME,
                        json_member_string(reply.parameters, "uuid") ?: "?");
        }
}

static ExitStatus prepare_run(const Options *given) {
        _cleanup_(pod_args_done) PodArgs args = {};
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters = json_object_new_object();
        Options options;
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = pod_command_args(&command_prepare, given, POD_ARGS_PREPARE, &args, &options);
        if (status != EXIT_STATUS_SUCCESS || args.help || args.version)
                return status;
        if (json_object_object_add(parameters, "spec", TAKE_PTR(args.spec)) < 0)
                return pod_oom();
        if (!args.quiet && !options.json && isatty(STDERR_FILENO))
                return prepare_follow(&options, &args, parameters);
        status = pod_call(&options, POD_METHOD("Prepare"), parameters, options.timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        return prepare_result(&options, &args, reply.parameters);
}

const Command command_prepare = {
        .syntax = {
                .name = "prepare",
                .usage = "IMAGE [APP FLAGS] [-- ARGS... ---] [IMAGE ...] [POD FLAGS]",
                .n_args_min = 0,
                .n_args_max = SIZE_MAX,
                .raw_args = true,
        },
        .summary =
                "Prepare a pod; prints its UUID. IMAGE is sha512-HEX or NAME[:VERSION]; the\n"
                "flags after an IMAGE apply to its app, '-- ARGS ---' are its arguments.\n"
                "App: --name --exec --user --group --supplementary-gids N,N --working-dir\n"
                "  --environment K=V --readonly-rootfs --memory Q --cpu Q --cpu-shares N\n"
                "  --oom-score-adj N --caps-retain|--caps-remove CAP,CAP\n"
                "  --seccomp mode=retain|remove[,errno=E],SYSCALL,...\n"
                "App, or the pod before the first IMAGE: --mount volume=NAME,target=PATH\n"
                "  --annotation K=V --user-annotation K=V --user-label K=V\n"
                "Pod: --volume NAME,kind=host|empty[,source=P,readOnly=B,recursive=B,mode=M,\n"
                "  uid=N,gid=N] --port NAME:[HOSTIP:]HOSTPORT --set-env K=V --set-env-file F\n"
                "  --inherit-env --no-overlay --private-users --stage1-image IMAGE\n"
                "  --pod-manifest FILE (instead of images) --quiet (print only the UUID)",
        .run = prepare_run,
};

/* --- list --- */

static bool state_valid(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(pod_states); i++)
                if (strcmp(pod_states[i], s) == 0)
                        return true;
        return false;
}

static int filter_add(json_object *filter, const char *key, const char *value) {
        json_object *list;

        if (!json_object_object_get_ex(filter, key, &list)) {
                list = json_object_new_array();
                if (!list || json_object_object_add(filter, key, list) < 0) {
                        json_object_put(list);
                        return -ENOMEM;
                }
        }
        return json_object_array_add(list, json_object_new_string(value)) < 0 ? -ENOMEM : 0;
}

static ExitStatus list_filter(const Options *options, json_object **ret) {
        _cleanup_json_ json_object *filter = json_object_new_object();
        const char *v;
        int r = 0;

        if (!filter)
                return pod_oom();
        for (size_t i = 0; (v = options_flag_nth(options, "--state", i)); i++) {
                if (!state_valid(v))
                        return usage("list", "unknown state '%s' (embryo, preparing, abortedPrepare, "
                                     "prepared, running, exited, exitedGarbage, garbage, deleting)", v);
                r = r < 0 ? r : filter_add(filter, "states", v);
        }
        for (size_t i = 0; (v = options_flag_nth(options, "--app", i)); i++)
                r = r < 0 ? r : filter_add(filter, "appNames", v);
        for (size_t i = 0; (v = options_flag_nth(options, "--image", i)); i++)
                r = r < 0 ? r : filter_add(filter,
                                           strncmp(v, IMAGE_ID_PREFIX, strlen(IMAGE_ID_PREFIX)) == 0 ?
                                           "imageIds" : "imageNames", v);
        if (r < 0)
                return pod_oom();
        *ret = json_object_object_length(filter) > 0 ? TAKE_PTR(filter) : NULL;
        return EXIT_STATUS_SUCCESS;
}

typedef struct ListRow {
        char uuid[64];
        char *apps;     /* owned */
        char *images;   /* owned */
        const char *state;
        char created[IMAGE_TEXT_MAX];
        char started[IMAGE_TEXT_MAX];
} ListRow;

static void list_rows_free(ListRow *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++) {
                free(rows[i].apps);
                free(rows[i].images);
        }
        free(rows);
}

/* The apps' names, or their image names (IDs where there is no name), joined by commas. */
static char *apps_join(json_object *apps, bool images, bool full) {
        char *buf = NULL, id[IMAGE_TEXT_MAX * 2];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *app = json_object_array_get_idx(apps, i);
                const char *s = json_member_string(app, images ? "imageName" : "name");

                if (!s && images && json_member_string(app, "imageId"))
                        s = full ? json_member_string(app, "imageId") :
                                   image_id_short(json_member_string(app, "imageId"), id, sizeof(id));
                fprintf(f, "%s%s", i > 0 ? "," : "", s ?: "?");
        }
        if (json_object_array_length(apps) == 0)
                fputs("-", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void time_cell(json_object *pod, const char *key, uint64_t now, char *buf, size_t size) {
        json_object *v = json_member_get(pod, key);

        if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
                image_time_format((uint64_t) json_object_get_int64(v), now, buf, size);
        else
                snprintf(buf, size, "-");
}

static int list_row_fill(ListRow *row, json_object *pod, bool full, uint64_t now) {
        const char *uuid = json_member_string(pod, "uuid");
        json_object *apps = json_member_get(pod, "apps");

        row->state = json_member_string(pod, "state");
        if (!uuid || !row->state || !json_object_is_type(apps, json_type_array))
                return -EBADMSG;
        snprintf(row->uuid, sizeof(row->uuid), "%.*s", full ? 63 : UUID_SHORT, uuid);
        row->apps = apps_join(apps, false, full);
        row->images = apps_join(apps, true, full);
        if (!row->apps || !row->images)
                return -ENOMEM;
        time_cell(pod, "createdUsec", now, row->created, sizeof(row->created));
        time_cell(pod, "startedUsec", now, row->started, sizeof(row->started));
        return 0;
}

static int max_int(int a, int b) {
        return a > b ? a : b;
}

static void list_table_print(const ListRow *rows, size_t n) {
        int w[5] = { 4, 4, 11, 5, 7 };

        for (size_t i = 0; i < n; i++) {
                w[0] = max_int(w[0], (int) strlen(rows[i].uuid));
                w[1] = max_int(w[1], (int) strlen(rows[i].apps));
                w[2] = max_int(w[2], (int) strlen(rows[i].images));
                w[3] = max_int(w[3], (int) strlen(rows[i].state));
                w[4] = max_int(w[4], (int) strlen(rows[i].created));
        }
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], "UUID", w[1], "APPS", w[2],
               "IMAGE NAMES", w[3], "STATE", w[4], "CREATED", "STARTED");
        for (size_t i = 0; i < n; i++)
                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], rows[i].uuid, w[1],
                       rows[i].apps, w[2], rows[i].images, w[3], rows[i].state, w[4],
                       rows[i].created, rows[i].started);
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static ExitStatus list_print(const Options *options, json_object *pods) {
        size_t n = json_object_array_length(pods);
        ListRow *rows = calloc(n ? n : 1, sizeof(ListRow));
        uint64_t now = realtime_usec();
        ExitStatus status = EXIT_STATUS_SUCCESS;

        if (!rows)
                return pod_oom();
        for (size_t i = 0; i < n && status == EXIT_STATUS_SUCCESS; i++) {
                int r = list_row_fill(&rows[i], json_object_array_get_idx(pods, i),
                                      options_flag(options, "--full"), now);

                if (r == -ENOMEM)
                        status = pod_oom();
                else if (r < 0)
                        status = pod_malformed(options, POD_METHOD("List"));
        }
        if (status == EXIT_STATUS_SUCCESS)
                list_table_print(rows, n);
        list_rows_free(rows, n);
        return status;
}

static ExitStatus list_run(const Options *options) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters = json_object_new_object(), *filter = NULL;
        json_object *pods;
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = list_filter(options, &filter);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (filter && json_object_object_add(parameters, "filter", TAKE_PTR(filter)) < 0)
                return pod_oom();
        status = pod_call(options, POD_METHOD("List"), parameters, options->timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return pod_print_json(reply.parameters, OUTPUT_JSON_PRETTY);
        pods = json_member_get(reply.parameters, "pods");
        if (!json_object_is_type(pods, json_type_array))
                return pod_malformed(options, POD_METHOD("List"));
        return list_print(options, pods);
}

static const CommandFlag list_flags[] = {
        { "--state", true },    /* repeatable */
        { "--app", true },      /* repeatable */
        { "--image", true },    /* repeatable */
        { "--full", false },
};

const Command command_list = {
        .syntax = {
                .name = "list",
                .usage = "[--state STATE]... [--app NAME]... [--image IMAGE]... [--full]",
                .flags = list_flags,
                .n_flags = ELEMENTSOF(list_flags),
                .n_args_min = 0,
                .n_args_max = 0,
        },
        .summary = "List pods, oldest first: UUID, apps, image names, state, created, started.\n"
                   "A filter given more than once matches any of its values; IMAGE is an ID\n"
                   "prefix (sha512-...) or an image name. --full shows whole UUIDs and IDs",
        .run = list_run,
};

/* --- status, cat-manifest, rm --- */

ExitStatus pod_status_print(const Options *options, const char *method, json_object *parameters) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (options->json)
                return pod_print_json(parameters, OUTPUT_JSON_PRETTY);
        r = pod_args_status_text(json_member_get(parameters, "pod"), &text);
        if (r == -ENOMEM)
                return pod_oom();
        if (r < 0)
                return pod_malformed(options, method);
        fputs(text, stdout);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus status_run(const Options *options) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(options->args[0]));
        bool wait = options_flag(options, "--wait");
        const char *method = wait ? POD_METHOD("Wait") : POD_METHOD("Status");
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = pod_call(options, method, parameters,
                          wait ? pod_stream_timeout(options) : options->timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        return pod_status_print(options, method, reply.parameters);
}

static const CommandFlag status_flags[] = {
        { "--wait", false },
};

const Command command_status = {
        .syntax = {
                .name = "status",
                .usage = "UUID [--wait]",
                .flags = status_flags,
                .n_flags = ELEMENTSOF(status_flags),
                .n_args_min = 1,
                .n_args_max = 1,
        },
        .summary = "A pod's state as key=value lines (state, created, started, pid, exited,\n"
                   "app-NAME=EXIT CODE, networks); --wait first waits until it has finished.\n"
                   "UUID may be any prefix that names one pod",
        .run = status_run,
};

static ExitStatus cat_manifest_run(const Options *options) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(options->args[0]));
        json_object *pod, *manifest;
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = pod_call(options, POD_METHOD("Status"), parameters, options->timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        pod = json_member_get(reply.parameters, "pod");
        if (!json_object_is_type(pod, json_type_object))
                return pod_malformed(options, POD_METHOD("Status"));
        manifest = json_member_get(pod, "manifest");
        if (!json_object_is_type(manifest, json_type_object)) {
                fprintf(stderr, "%s: pod %s has no manifest yet (state %s)\n", PROGRAM_NAME,
                        json_member_string(pod, "uuid") ?: options->args[0],
                        json_member_string(pod, "state") ?: "?");
                return EXIT_STATUS_SERVICE_ERROR;
        }
        return pod_print_json(manifest, OUTPUT_JSON_PRETTY);
}

const Command command_cat_manifest = {
        .syntax = {
                .name = "cat-manifest",
                .usage = "UUID",
                .n_args_min = 1,
                .n_args_max = 1,
        },
        .summary = "Print a pod's manifest",
        .run = cat_manifest_run,
};

static ExitStatus rm_one(const Options *options, const char *uuid) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters =
                json_member_only("uuid", json_object_new_string(uuid));
        ExitStatus status;

        if (!parameters)
                return pod_oom();
        status = pod_call(options, POD_METHOD("Remove"), parameters, options->timeout_usec, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (!json_member_string(reply.parameters, "uuid"))
                return pod_malformed(options, POD_METHOD("Remove"));
        if (options->json)
                return pod_print_json(reply.parameters, OUTPUT_JSON_LINE);
        command_print(json_member_string(reply.parameters, "uuid"));
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus rm_run(const Options *options) {
        ExitStatus worst = EXIT_STATUS_SUCCESS;

        /* Every pod is tried; a connection failure (3) outranks a refusal (1). */
        for (size_t i = 0; i < options->n_args; i++) {
                ExitStatus status = rm_one(options, options->args[i]);

                if (status > worst)
                        worst = status;
        }
        return worst;
}

const Command command_rm = {
        .syntax = {
                .name = "rm",
                .usage = "UUID...",
                .n_args_min = 1,
                .n_args_max = SIZE_MAX,
        },
        .summary = "Remove pods that have finished or never ran; prints each removed UUID",
        .run = rm_run,
};
