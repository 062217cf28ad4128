/* PodArgs: the command line of `stage0c prepare`, `run` and `run-prepared`, read the way rkt
 * reads it, turned into the parameters of io.stage0.Pods (a PodSpec and RunOptions object).
 * Also the other pure parts of the pod commands: decoding log chunks, the exit code of an
 * attached run, the status lines.
 *
 * The command line is `IMAGE [APP FLAGS] [-- ARGS... ---] [IMAGE ...]`: an app flag applies to
 * the image before it; pod flags may stand anywhere; --mount, --annotation, --user-annotation
 * and --user-label apply to the whole pod before the first image and to the app after one.
 * Nothing here prints, exits or talks to the daemon: files (--set-env-file, --pod-manifest)
 * and the environment (--inherit-env) come in through PodArgsContext. The checks are of form
 * only (syntax, flags given twice, flags that cannot go together on a command line); what
 * a value means -- names, paths, ranges, capability names -- the daemon judges. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Bounds what --set-env-file and --pod-manifest read, like a varlink message. */
#define POD_ARGS_FILE_MAX (16U * 1024U * 1024U)

typedef enum PodArgsMode {
        POD_ARGS_PREPARE,       /* images, app and pod flags, --quiet */
        POD_ARGS_RUN,           /* that and the runtime flags, --detach; no --quiet */
        POD_ARGS_RUN_PREPARED,  /* one UUID, the runtime flags, --detach */
        _POD_ARGS_MODE_MAX,
        _POD_ARGS_MODE_INVALID = -EINVAL,
} PodArgsMode;

const char *pod_args_mode_to_string(PodArgsMode mode);
PodArgsMode pod_args_mode_from_string(const char *s);

/* Reads the whole file at path into a NUL-terminated string; 0 or a negative errno. */
typedef int (*PodArgsReadFile)(const char *path, char **ret, void *userdata);

typedef struct PodArgsContext {
        /* What --inherit-env sends: "NAME=VALUE" strings, NULL-terminated; NULL for none. */
        char *const *environ;
        /* Defaults to pod_args_read_file. */
        PodArgsReadFile read_file;
        void *userdata;
} PodArgsContext;

typedef struct PodArgs {
        PodArgsMode mode;
        json_object *spec;      /* owned PodSpec; NULL for run-prepared */
        json_object *options;   /* owned RunOptions; NULL for prepare or when no flag set one */
        const char *uuid;       /* run-prepared's pod, borrowed from the arguments */
        bool quiet;
        bool detach;
        /* stage0c's global options, met among the arguments: */
        bool json;
        bool help;
        bool version;
        const char *socket;     /* NULL when not given */
        bool timeout_set;
        uint64_t timeout_usec;
} PodArgs;

/* Parses args (the arguments after the command name, borrowed: they must outlive ret).
 * -EINVAL with a reason in error for a usage error (and for a file that cannot be read or
 * parsed), -ENOMEM. On success ret owns its objects; free them with pod_args_done(). A
 * request for help or the version stops the parse there and succeeds. */
int pod_args_parse(PodArgs *ret, PodArgsMode mode, char *const *args, size_t n_args,
                   const PodArgsContext *context, char *error, size_t error_size);
void pod_args_done(PodArgs *args);

/* The default PodArgsContext.read_file: regular files up to POD_ARGS_FILE_MAX bytes without a
 * NUL byte. -EFBIG past the bound, -EBADMSG for a NUL byte. */
int pod_args_read_file(const char *path, char **ret, void *userdata);

/* Adds the variables of an env file to env: VAR=VALUE lines; empty lines and lines that begin
 * with '#' or ';' are skipped; a variable already in env is refused. name is what the reason
 * calls the file. -EINVAL with "NAME:LINE: reason", -ENOMEM. */
int pod_args_env_file_parse(const char *text, const char *name, json_object *env, char *error,
                            size_t error_size);

/* RFC 4648 base64 with padding into *ret (owned, NUL-terminated for convenience) and its size.
 * -EBADMSG for anything else, -ENOMEM. */
int pod_args_base64_decode(const char *text, uint8_t **ret, size_t *ret_size);

/* The exit code `stage0c run` exits with, from the final reply's Pod: the exit code of the
 * first app (in manifest order) that did not exit 0, else 0. An app without an exit code
 * counts as failed with 1; codes outside 0..255 become 255. -EBADMSG when pod has no apps
 * array. */
int pod_args_exit_code(json_object *pod, int *ret);

/* rkt-like status lines for a Pod, ending in a newline: uuid=, state=, created=, started=,
 * pid=, exited=true|false, app-NAME=CODE per app that exited, networks=. Times are UTC,
 * "2006-01-02T15:04:05.000Z". -EBADMSG when pod lacks uuid, state or apps. */
int pod_args_status_text(json_object *pod, char **ret);

/* A point in time, microseconds since the epoch, as "2006-01-02T15:04:05.000Z". */
const char *pod_args_time_format(int64_t usec, char *buf, size_t size);
