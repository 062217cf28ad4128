/* image: the io.stage0.Images commands (import, list, inspect, rm, gc, render, verify) and
 * the pure helpers of cmd-image.h. "image" is one Command whose first argument names the
 * subcommand; the flags of all subcommands are declared together and each subcommand says
 * which of them it takes, so a misplaced flag is still a usage error. Human output is
 * tables and key: value lines; --json prints the reply parameters as the daemon sent them. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd-image.h"
#include "command.h"
#include "json-member.h"
#include "options.h"
#include "output.h"

#define METHOD_IMPORT "io.stage0.Images.Import"
#define METHOD_LIST "io.stage0.Images.List"
#define METHOD_INSPECT "io.stage0.Images.Inspect"
#define METHOD_REMOVE "io.stage0.Images.Remove"
#define METHOD_VERIFY "io.stage0.Images.Verify"
#define METHOD_RENDER "io.stage0.Images.Render"
#define METHOD_GC "io.stage0.Images.GarbageCollect"

#define USEC_PER_SEC 1000000ULL
/* The progress bar is redrawn at most this often. */
#define PROGRESS_INTERVAL_USEC (100ULL * 1000ULL)
#define PROGRESS_BAR_WIDTH 24
#define PROGRESS_NAME_MAX 20

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

static inline int max_int(int a, int b) {
        return a > b ? a : b;
}

/* --- pure helpers --- */

int image_label_add(json_object *labels, const char *text, char *error, size_t error_size) {
        const char *eq = strchr(text, '=');
        _cleanup_free_ char *name = NULL;

        if (!eq || eq == text)
                return options_error(error, error_size, "label '%s' is not NAME=VALUE", text);
        name = strndup(text, (size_t) (eq - text));
        if (!name)
                return -ENOMEM;
        if (json_object_object_get_ex(labels, name, NULL))
                return options_error(error, error_size, "label '%s' is given twice", name);
        if (json_object_object_add(labels, name, json_object_new_string(eq + 1)) < 0)
                return -ENOMEM;
        return 0;
}

static int image_ref_id(const char *text, json_object *labels, json_object **ret, char *error,
                        size_t error_size) {
        const char *hex = text + strlen(IMAGE_ID_PREFIX);
        size_t n = strlen(hex);
        _cleanup_free_ char *id = strdup(text);
        _cleanup_json_ json_object *ref = NULL;

        if (!id)
                return -ENOMEM;
        if (n < IMAGE_ID_HEX_MIN || n > IMAGE_ID_HEX_MAX)
                return options_error(error, error_size,
                                  "image ID '%s' must have %d to %d hex digits after '%s'",
                                  text, IMAGE_ID_HEX_MIN, IMAGE_ID_HEX_MAX, IMAGE_ID_PREFIX);
        for (char *p = id + strlen(IMAGE_ID_PREFIX); *p; p++) {
                if (*p >= 'A' && *p <= 'F')
                        *p = (char) (*p - 'A' + 'a');
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return options_error(error, error_size,
                                          "image ID '%s' holds '%c', not a hex digit", text, *p);
        }
        if (labels && json_object_object_length(labels) > 0)
                return options_error(error, error_size,
                                  "labels select among images of one name, not an image ID");
        ref = json_object_new_object();
        if (!ref || json_object_object_add(ref, "id", json_object_new_string(id)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(ref);
        return 0;
}

/* A copy of labels (or an empty object) with version added when there is one. */
static int ref_labels_build(json_object *labels, const char *version, json_object **ret,
                            char *error, size_t error_size) {
        _cleanup_json_ json_object *all = json_object_new_object();

        if (!all)
                return -ENOMEM;
        if (labels) {
                json_object_object_foreach(labels, k, v)
                        if (json_object_object_add(all, k, json_object_get(v)) < 0)
                                return -ENOMEM;
        }
        if (version) {
                if (json_object_object_get_ex(all, "version", NULL))
                        return options_error(error, error_size,
                                          "the version is given both after ':' and as a label");
                if (json_object_object_add(all, "version", json_object_new_string(version)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int image_ref_name(const char *text, json_object *labels, json_object **ret, char *error,
                          size_t error_size) {
        const char *colon = strrchr(text, ':');
        _cleanup_free_ char *name = colon ? strndup(text, (size_t) (colon - text)) : strdup(text);
        _cleanup_json_ json_object *ref = NULL, *all = NULL;
        int r;

        if (!name)
                return -ENOMEM;
        if (name[0] == '\0')
                return options_error(error, error_size, "image '%s' has an empty name", text);
        if (colon && colon[1] == '\0')
                return options_error(error, error_size, "image '%s' has an empty version after ':'",
                                  text);
        r = ref_labels_build(labels, colon ? colon + 1 : NULL, &all, error, error_size);
        if (r < 0)
                return r;
        ref = json_object_new_object();
        if (!ref || json_object_object_add(ref, "name", json_object_new_string(name)) < 0)
                return -ENOMEM;
        if (json_object_object_length(all) > 0 &&
            json_object_object_add(ref, "labels", TAKE_PTR(all)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(ref);
        return 0;
}

int image_ref_parse(const char *text, json_object *labels, json_object **ret, char *error,
                    size_t error_size) {
        if (!text || text[0] == '\0')
                return options_error(error, error_size, "the image is empty");
        if (strncmp(text, IMAGE_ID_PREFIX, strlen(IMAGE_ID_PREFIX)) == 0)
                return image_ref_id(text, labels, ret, error, error_size);
        return image_ref_name(text, labels, ret, error, error_size);
}

static const struct {
        const char *name;
        uint64_t usec;
} duration_units[] = {
        /* "ms" before "m": the longest unit that matches is the one meant. */
        { "ms", 1000ULL },
        { "us", 1ULL },
        { "\xc2\xb5s", 1ULL },  /* µs */
        { "h", 3600ULL * USEC_PER_SEC },
        { "m", 60ULL * USEC_PER_SEC },
        { "s", USEC_PER_SEC },
};

/* One NUMBER UNIT pair at *p, added to *total. */
static int duration_part(const char **p, uint64_t *total) {
        uint64_t whole = 0, frac = 0, scale = 1, unit = 0, v;
        const char *s = *p;
        bool digits = false;

        for (; *s >= '0' && *s <= '9'; s++, digits = true) {
                if (whole > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                whole = whole * 10 + (uint64_t) (*s - '0');
        }
        if (*s == '.')
                /* Digits past microsecond precision of the largest unit do not matter. */
                for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
                        if (scale < 1000000000000ULL) {
                                frac = frac * 10 + (uint64_t) (*s - '0');
                                scale *= 10;
                        }
        if (!digits)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                if (strncmp(s, duration_units[i].name, strlen(duration_units[i].name)) == 0) {
                        unit = duration_units[i].usec;
                        s += strlen(duration_units[i].name);
                        break;
                }
        if (unit == 0)
                return -EINVAL;
        if (whole > (uint64_t) INT64_MAX / unit)
                return -ERANGE;
        v = whole * unit + (uint64_t) ((long double) frac * unit / scale);
        if (v > (uint64_t) INT64_MAX - *total)
                return -ERANGE;
        *total += v;
        *p = s;
        return 0;
}

int image_duration_parse(const char *text, uint64_t *ret_usec) {
        uint64_t total = 0;
        const char *p = text;
        int r;

        if (!text || text[0] == '\0')
                return -EINVAL;
        if (strcmp(text, "0") == 0) {
                *ret_usec = 0;
                return 0;
        }
        while (*p) {
                r = duration_part(&p, &total);
                if (r < 0)
                        return r;
        }
        *ret_usec = total;
        return 0;
}

const char *image_id_short(const char *id, char *buf, size_t size) {
        size_t keep = strlen(IMAGE_ID_PREFIX) + IMAGE_ID_SHORT_HEX;

        if (strncmp(id, IMAGE_ID_PREFIX, strlen(IMAGE_ID_PREFIX)) == 0 && strlen(id) > keep)
                snprintf(buf, size, "%.*s", (int) keep, id);
        else
                snprintf(buf, size, "%s", id);
        return buf;
}

const char *image_size_format(uint64_t bytes, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = (double) bytes;
        size_t i = 0;

        if (bytes < 1024) {
                snprintf(buf, size, "%" PRIu64 " B", bytes);
                return buf;
        }
        v /= 1024;
        /* Stop before 1024.0 would show as "1024.0": rounding is to one decimal. */
        while (v >= 1023.95 && i + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                i++;
        }
        snprintf(buf, size, "%.1f %s", v, units[i]);
        return buf;
}

const char *image_time_format(uint64_t usec, uint64_t now_usec, char *buf, size_t size) {
        static const struct {
                uint64_t seconds;
                const char *unit;
        } steps[] = {
                { 24 * 3600, "day" },
                { 3600, "hour" },
                { 60, "minute" },
                { 1, "second" },
        };
        uint64_t ago = now_usec >= usec ? (now_usec - usec) / USEC_PER_SEC : UINT64_MAX;
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (ago < 7 * 24 * 3600) {
                for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                        uint64_t n = ago / steps[i].seconds;

                        if (n > 0 || steps[i].seconds == 1) {
                                snprintf(buf, size, "%" PRIu64 " %s%s ago", n, steps[i].unit,
                                         n == 1 ? "" : "s");
                                return buf;
                        }
                }
        }
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, (uint64_t) (usec / USEC_PER_SEC));
        return buf;
}

const char *image_progress_format(uint64_t done, int64_t total, double rate, char *buf,
                                  size_t size) {
        char done_text[IMAGE_TEXT_MAX], total_text[IMAGE_TEXT_MAX], rate_text[IMAGE_TEXT_MAX];
        char bar[PROGRESS_BAR_WIDTH + 1];
        uint64_t t = total > 0 ? (uint64_t) total : 0;
        unsigned percent;
        size_t filled;

        image_size_format(done, done_text, sizeof(done_text));
        image_size_format(rate > 0 ? (uint64_t) rate : 0, rate_text, sizeof(rate_text));
        if (total < 0) {
                snprintf(buf, size, "%s  %s/s", done_text, rate_text);
                return buf;
        }
        /* The bar stops when full; a file that grew still shows its true count. */
        if (done > t)
                done = t;
        /* An empty file is all done. */
        percent = t == 0 ? 100 : (unsigned) ((long double) done * 100 / t);
        filled = t == 0 ? PROGRESS_BAR_WIDTH : (size_t) ((long double) done * PROGRESS_BAR_WIDTH / t);
        for (size_t i = 0; i < PROGRESS_BAR_WIDTH; i++)
                bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
        bar[PROGRESS_BAR_WIDTH] = '\0';
        image_size_format(t, total_text, sizeof(total_text));
        snprintf(buf, size, "[%s] %3u%%  %s / %s  %s/s", bar, percent, done_text, total_text,
                 rate_text);
        return buf;
}

/* --- talking to the daemon --- */

static ExitStatus oom(void) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
        return EXIT_STATUS_CONNECTION;
}

static ExitStatus usage(const char *sub, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static ExitStatus usage(const char *sub, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "%s: image %s: ", PROGRAM_NAME, sub);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s --help'.\n", PROGRAM_NAME);
        return EXIT_STATUS_USAGE;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static ExitStatus print_json(json_object *value) {
        _cleanup_free_ char *text = NULL;

        if (output_json(value, OUTPUT_JSON_PRETTY, &text) < 0)
                return oom();
        command_print(text);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus malformed(const Options *options, const char *method) {
        return command_report(options, method, -EBADMSG, NULL);
}

/* One call with one reply on a fresh connection. */
static ExitStatus image_call(const Options *options, const char *method, json_object *parameters,
                             VarlinkReply *reply) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        return command_call_simple(options, client, method, parameters, reply);
}

/* The --label flags as an object (NULL when none), or a usage error. */
static ExitStatus labels_from_flags(const Options *options, const char *sub, json_object **ret) {
        _cleanup_json_ json_object *labels = NULL;
        size_t n = options_flag_count(options, "--label");
        char error[256] = "";
        int r;

        *ret = NULL;
        if (n == 0)
                return EXIT_STATUS_SUCCESS;
        labels = json_object_new_object();
        if (!labels)
                return oom();
        for (size_t i = 0; i < n; i++) {
                r = image_label_add(labels, options_flag_nth(options, "--label", i), error,
                                    sizeof(error));
                if (r == -ENOMEM)
                        return oom();
                if (r < 0)
                        return usage(sub, "%s", error);
        }
        *ret = TAKE_PTR(labels);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus ref_from_arg(const Options *options, const char *sub, const char *arg,
                               json_object **ret) {
        _cleanup_json_ json_object *labels = NULL;
        char error[256] = "";
        ExitStatus status;
        int r;

        status = labels_from_flags(options, sub, &labels);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        r = image_ref_parse(arg, labels, ret, error, sizeof(error));
        if (r == -ENOMEM)
                return oom();
        if (r < 0)
                return usage(sub, "%s", error);
        return EXIT_STATUS_SUCCESS;
}

/* --- import --- */

typedef struct ImportProgress {
        const char *name;       /* what the bar is labelled with */
        bool shown;
        uint64_t start_usec;
        uint64_t drawn_usec;
} ImportProgress;

static void progress_draw(ImportProgress *p, json_object *parameters) {
        char line[IMAGE_TEXT_MAX * 4];
        int64_t done = 0, total = -1;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        double seconds = (double) (now - p->start_usec) / USEC_PER_SEC;

        if (p->shown && now - p->drawn_usec < PROGRESS_INTERVAL_USEC)
                return;
        (void) json_member_int(parameters, "bytesRead", &done);
        if (!json_member_int(parameters, "bytesTotal", &total))
                total = -1;
        image_progress_format(done > 0 ? (uint64_t) done : 0, total,
                              seconds > 0 ? (double) done / seconds : 0, line, sizeof(line));
        fprintf(stderr, "\r\033[K%-*.*s %s", PROGRESS_NAME_MAX, PROGRESS_NAME_MAX, p->name, line);
        fflush(stderr);
        p->shown = true;
        p->drawn_usec = now;
}

static void progress_clear(ImportProgress *p) {
        if (!p->shown)
                return;
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = false;
}

static void import_result_print(const char *file, json_object *parameters) {
        json_object *image = NULL, *already = NULL;
        const char *id;

        (void) json_object_object_get_ex(parameters, "image", &image);
        (void) json_object_object_get_ex(parameters, "alreadyStored", &already);
        id = json_member_string(image, "id");
        command_print(id ? id : "?");
        if (already && json_object_get_boolean(already))
                fprintf(stderr, "%s: %s: already stored\n", PROGRAM_NAME, file);
}

/* Reads Import's replies until the last one; the progress bar is drawn when p is set. */
static ExitStatus import_read(const Options *options, VarlinkClient *client, const char *file,
                              ImportProgress *p) {
        for (;;) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                ExitStatus status;
                int r;

                r = varlink_client_read(client, &reply, options->timeout_usec);
                if (p && (r < 0 || reply.error || !reply.continues))
                        progress_clear(p);
                status = command_report(options, METHOD_IMPORT, r, &reply);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                if (reply.continues) {
                        if (p)
                                progress_draw(p, reply.parameters);
                        continue;
                }
                if (!json_object_object_get_ex(reply.parameters, "image", NULL))
                        return malformed(options, METHOD_IMPORT);
                if (options->json)
                        return print_json(reply.parameters);
                import_result_print(file, reply.parameters);
                return EXIT_STATUS_SUCCESS;
        }
}

static ExitStatus import_one(const Options *options, const char *file, const char *path) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        _cleanup_json_ json_object *parameters = NULL;
        const char *slash = strrchr(file, '/');
        ImportProgress progress = {
                .name = slash && slash[1] ? slash + 1 : file,
                .start_usec = now_usec(CLOCK_MONOTONIC),
        };
        int r;

        parameters = json_member_only("path", json_object_new_string(path));
        if (!parameters)
                return oom();
        if (options_flag(options, "--allow-device-nodes") &&
            json_member_add(parameters, "allowDeviceNodes", json_object_new_boolean(1)) < 0)
                return oom();
        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        r = varlink_client_send(client, METHOD_IMPORT, parameters, VARLINK_CALL_MORE,
                                options->timeout_usec);
        if (r < 0)
                return command_report(options, METHOD_IMPORT, r, NULL);
        return import_read(options, client, file, isatty(STDERR_FILENO) ? &progress : NULL);
}

static ExitStatus import_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_free_ char **paths = calloc(n_args, sizeof(char *));
        ExitStatus worst = EXIT_STATUS_SUCCESS;

        if (!paths)
                return oom();
        /* The daemon opens the file itself, so it needs an absolute path; a file that is
         * not there is refused before anything is imported. */
        for (size_t i = 0; i < n_args; i++) {
                paths[i] = realpath(args[i], NULL);
                if (!paths[i]) {
                        int e = errno;

                        for (size_t k = 0; k < i; k++)
                                free(paths[k]);
                        return usage("import", "%s: %s", args[i], strerror(e));
                }
        }
        for (size_t i = 0; i < n_args; i++) {
                ExitStatus status = import_one(options, args[i], paths[i]);

                /* A connection failure (3) outranks a refused file (1). */
                if (status > worst)
                        worst = status;
                free(paths[i]);
        }
        return worst;
}

/* --- list --- */

typedef struct ListRow {
        char id[IMAGE_TEXT_MAX * 2];
        const char *name;
        const char *version;
        char size[IMAGE_TEXT_MAX];
        char imported[IMAGE_TEXT_MAX];
} ListRow;

static int list_row_fill(ListRow *row, json_object *image, bool full, uint64_t now) {
        const char *id = json_member_string(image, "id");
        json_object *labels = NULL;
        int64_t size, imported;

        row->name = json_member_string(image, "name");
        if (!id || !row->name || !json_member_int(image, "size", &size) ||
            !json_member_int(image, "importedUsec", &imported) || size < 0 || imported < 0)
                return -EBADMSG;
        if (full)
                snprintf(row->id, sizeof(row->id), "%s", id);
        else
                image_id_short(id, row->id, sizeof(row->id));
        (void) json_object_object_get_ex(image, "labels", &labels);
        row->version = json_member_string(labels, "version");
        if (!row->version)
                row->version = "-";
        image_size_format((uint64_t) size, row->size, sizeof(row->size));
        image_time_format((uint64_t) imported, now, row->imported, sizeof(row->imported));
        return 0;
}

static void list_table_print(const ListRow *rows, size_t n) {
        int w_id = 2, w_name = 4, w_version = 7, w_size = 4;

        for (size_t i = 0; i < n; i++) {
                w_id = max_int(w_id, (int) strlen(rows[i].id));
                w_name = max_int(w_name, (int) strlen(rows[i].name));
                w_version = max_int(w_version, (int) strlen(rows[i].version));
                w_size = max_int(w_size, (int) strlen(rows[i].size));
        }
        printf("%-*s  %-*s  %-*s  %*s  %s\n", w_id, "ID", w_name, "NAME", w_version, "VERSION",
               w_size, "SIZE", "IMPORTED");
        for (size_t i = 0; i < n; i++)
                printf("%-*s  %-*s  %-*s  %*s  %s\n", w_id, rows[i].id, w_name, rows[i].name,
                       w_version, rows[i].version, w_size, rows[i].size, rows[i].imported);
}

static ExitStatus list_print(const Options *options, json_object *images) {
        size_t n = json_object_array_length(images);
        _cleanup_free_ ListRow *rows = calloc(n ? n : 1, sizeof(ListRow));
        uint64_t now = now_usec(CLOCK_REALTIME);

        if (!rows)
                return oom();
        for (size_t i = 0; i < n; i++)
                if (list_row_fill(&rows[i], json_object_array_get_idx(images, i),
                                  options_flag(options, "--full"), now) < 0)
                        return malformed(options, METHOD_LIST);
        list_table_print(rows, n);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus list_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters = json_object_new_object(), *labels = NULL;
        const char *prefix = options_flag(options, "--name-prefix");
        json_object *images;
        ExitStatus status;

        (void) args;
        (void) n_args;
        if (!parameters)
                return oom();
        status = labels_from_flags(options, "list", &labels);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (prefix && json_member_add(parameters, "namePrefix", json_object_new_string(prefix)) < 0)
                return oom();
        if (labels && json_member_add(parameters, "labels", TAKE_PTR(labels)) < 0)
                return oom();
        status = image_call(options, METHOD_LIST, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        images = json_member_array(reply.parameters, "images");
        if (!images)
                return malformed(options, METHOD_LIST);
        return list_print(options, images);
}

/* --- inspect --- */

static void labels_print(json_object *labels) {
        const char *sep = "";

        fputs("labels:     ", stdout);
        if (labels && json_object_is_type(labels, json_type_object)) {
                json_object_object_foreach(labels, k, v) {
                        printf("%s%s=%s", sep, k, json_object_get_string(v));
                        sep = ", ";
                }
        }
        fputc('\n', stdout);
}

static void time_line_print(const char *key, json_object *o, const char *field, uint64_t now) {
        char text[IMAGE_TEXT_MAX];
        int64_t usec;

        if (!json_member_int(o, field, &usec) || usec < 0)
                printf("%-11s -\n", key);
        else
                printf("%-11s %s\n", key, image_time_format((uint64_t) usec, now, text, sizeof(text)));
}

static void size_line_print(const char *key, json_object *o, const char *field) {
        char text[IMAGE_TEXT_MAX];
        int64_t size;

        if (!json_member_int(o, field, &size) || size < 0)
                printf("%-11s -\n", key);
        else
                printf("%-11s %s (%" PRId64 " bytes)\n", key,
                       image_size_format((uint64_t) size, text, sizeof(text)), size);
}

static void trees_print(const char *key, json_object *trees) {
        size_t n = trees ? json_object_array_length(trees) : 0;

        if (n == 0)
                printf("%-11s -\n", key);
        for (size_t i = 0; i < n; i++) {
                json_object *t = json_object_array_get_idx(trees, i);
                const char *id = json_member_string(t, "id"), *hash = json_member_string(t, "hash");

                printf("%-11s %s (hash %s)\n", i == 0 ? key : "", id ? id : "?", hash ? hash : "?");
        }
}

static ExitStatus inspect_print(json_object *reply) {
        _cleanup_free_ char *manifest_text = NULL;
        json_object *image = NULL, *manifest = NULL, *labels = NULL;
        uint64_t now = now_usec(CLOCK_REALTIME);
        const char *id, *name;

        (void) json_object_object_get_ex(reply, "image", &image);
        (void) json_object_object_get_ex(reply, "manifest", &manifest);
        (void) json_object_object_get_ex(image, "labels", &labels);
        id = json_member_string(image, "id");
        name = json_member_string(image, "name");
        if (!id || !name)
                return EXIT_STATUS_CONNECTION;
        if (output_json(manifest, OUTPUT_JSON_PRETTY, &manifest_text) < 0)
                return oom();
        printf("%-11s %s\n%-11s %s\n", "id:", id, "name:", name);
        labels_print(labels);
        size_line_print("size:", image, "size");
        size_line_print("trees size:", image, "treeSize");
        time_line_print("imported:", image, "importedUsec", now);
        time_line_print("last used:", image, "lastUsedUsec", now);
        if (json_member_string(image, "checkDigest"))
                printf("%-11s %s\n", "checked by:", json_member_string(image, "checkDigest"));
        trees_print("trees:", json_member_array(reply, "trees"));
        printf("manifest:\n");
        command_print(manifest_text);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus inspect_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *ref = NULL, *parameters = NULL;
        ExitStatus status;

        (void) n_args;
        status = ref_from_arg(options, "inspect", args[0], &ref);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        parameters = json_member_only("image", TAKE_PTR(ref));
        if (!parameters)
                return oom();
        status = image_call(options, METHOD_INSPECT, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        status = inspect_print(reply.parameters);
        return status == EXIT_STATUS_CONNECTION ? malformed(options, METHOD_INSPECT) : status;
}

/* --- rm, gc --- */

static void ids_print(const char *what, json_object *ids) {
        size_t n = ids ? json_object_array_length(ids) : 0;

        for (size_t i = 0; i < n; i++)
                printf("removed %s %s\n", what,
                       json_object_get_string(json_object_array_get_idx(ids, i)));
}

static ExitStatus rm_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *refs = json_object_new_array(), *parameters = NULL;
        ExitStatus status;

        if (!refs)
                return oom();
        for (size_t i = 0; i < n_args; i++) {
                json_object *ref = NULL;

                status = ref_from_arg(options, "rm", args[i], &ref);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                if (json_object_array_add(refs, ref) < 0) {
                        json_object_put(ref);
                        return oom();
                }
        }
        parameters = json_member_only("images", TAKE_PTR(refs));
        if (!parameters)
                return oom();
        status = image_call(options, METHOD_REMOVE, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        if (!json_member_array(reply.parameters, "removed"))
                return malformed(options, METHOD_REMOVE);
        ids_print("image", json_member_array(reply.parameters, "removed"));
        ids_print("tree", json_member_array(reply.parameters, "removedTrees"));
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus gc_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *parameters = json_object_new_object();
        const char *grace = options_flag(options, "--grace-period");
        char text[IMAGE_TEXT_MAX];
        ExitStatus status;
        uint64_t usec;
        int64_t freed;

        (void) args;
        (void) n_args;
        if (!parameters)
                return oom();
        if (grace) {
                if (image_duration_parse(grace, &usec) < 0)
                        return usage("gc", "--grace-period needs a duration such as 30m, 24h or "
                                     "1h30m, not '%s'", grace);
                if (json_member_add(parameters, "gracePeriodUsec",
                               json_object_new_int64((int64_t) usec)) < 0)
                        return oom();
        }
        status = image_call(options, METHOD_GC, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        if (!json_member_int(reply.parameters, "freedBytes", &freed) || freed < 0)
                return malformed(options, METHOD_GC);
        ids_print("image", json_member_array(reply.parameters, "removedImages"));
        ids_print("tree", json_member_array(reply.parameters, "removedTrees"));
        printf("freed %s\n", image_size_format((uint64_t) freed, text, sizeof(text)));
        return EXIT_STATUS_SUCCESS;
}

/* --- render, verify --- */

/* DIR made absolute against the working directory; it need not exist yet. */
static char *path_absolute(const char *dir) {
        _cleanup_free_ char *cwd = NULL;
        char *ret = NULL;

        if (dir[0] == '/')
                return strdup(dir);
        cwd = getcwd(NULL, 0);
        if (!cwd || asprintf(&ret, "%s/%s", cwd, dir) < 0)
                return NULL;
        return ret;
}

static int render_parameters(const Options *options, json_object *ref, const char *target,
                             json_object **ret) {
        _cleanup_json_ json_object *p = json_member_only("image", ref);

        if (!p || json_member_add(p, "target", json_object_new_string(target)) < 0)
                return -ENOMEM;
        if (options_flag(options, "--rootfs-only") &&
            json_member_add(p, "rootfsOnly", json_object_new_boolean(1)) < 0)
                return -ENOMEM;
        if (options_flag(options, "--overwrite") &&
            json_member_add(p, "overwrite", json_object_new_boolean(1)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static ExitStatus render_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *ref = NULL, *parameters = NULL;
        _cleanup_free_ char *target = NULL;
        json_object *tree = NULL;
        ExitStatus status;

        (void) n_args;
        status = ref_from_arg(options, "render", args[0], &ref);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (args[1][0] == '\0')
                return usage("render", "the target directory is empty");
        target = path_absolute(args[1]);
        if (!target || render_parameters(options, TAKE_PTR(ref), target, &parameters) < 0)
                return oom();
        status = image_call(options, METHOD_RENDER, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        (void) json_object_object_get_ex(reply.parameters, "tree", &tree);
        if (!json_member_string(tree, "id"))
                return malformed(options, METHOD_RENDER);
        printf("rendered %s into %s\n", json_member_string(tree, "id"), target);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus verify_run(const Options *options, char *const *args, size_t n_args) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *ref = NULL, *parameters = NULL;
        json_object *trees;
        ExitStatus status;

        (void) n_args;
        status = ref_from_arg(options, "verify", args[0], &ref);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        parameters = json_member_only("image", TAKE_PTR(ref));
        if (!parameters)
                return oom();
        status = image_call(options, METHOD_VERIFY, parameters, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters);
        trees = json_member_array(reply.parameters, "trees");
        if (!json_member_string(reply.parameters, "id") || !trees)
                return malformed(options, METHOD_VERIFY);
        printf("%s: ok\n", json_member_string(reply.parameters, "id"));
        for (size_t i = 0; i < json_object_array_length(trees); i++)
                printf("tree %s: ok\n",
                       json_member_string(json_object_array_get_idx(trees, i), "id") ?: "?");
        return EXIT_STATUS_SUCCESS;
}

/* --- the subcommand table --- */

typedef struct ImageSubcommand {
        const char *name;
        const char *const *flags;       /* NULL-terminated: the flags it takes */
        size_t n_args_min;
        size_t n_args_max;
        ExitStatus (*run)(const Options *options, char *const *args, size_t n_args);
} ImageSubcommand;

static const CommandFlag image_flags[] = {
        { "--allow-device-nodes", false },
        { "--name-prefix", true },
        { "--label", true },    /* repeatable: read with options_flag_nth */
        { "--full", false },
        { "--grace-period", true },
        { "--rootfs-only", false },
        { "--overwrite", false },
};

static const ImageSubcommand image_subcommands[] = {
        { "import", (const char *const[]) { "--allow-device-nodes", NULL }, 1, SIZE_MAX, import_run },
        { "list", (const char *const[]) { "--name-prefix", "--label", "--full", NULL }, 0, 0, list_run },
        { "inspect", (const char *const[]) { "--label", NULL }, 1, 1, inspect_run },
        { "rm", (const char *const[]) { "--label", NULL }, 1, SIZE_MAX, rm_run },
        { "gc", (const char *const[]) { "--grace-period", NULL }, 0, 0, gc_run },
        { "render", (const char *const[]) { "--label", "--rootfs-only", "--overwrite", NULL }, 2, 2, render_run },
        { "verify", (const char *const[]) { "--label", NULL }, 1, 1, verify_run },
};

static bool subcommand_takes(const ImageSubcommand *s, const char *flag) {
        for (const char *const *f = s->flags; *f; f++)
                if (strcmp(*f, flag) == 0)
                        return true;
        return false;
}

static ExitStatus image_run(const Options *options) {
        const ImageSubcommand *s = NULL;
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(image_subcommands); i++)
                if (strcmp(image_subcommands[i].name, options->args[0]) == 0)
                        s = &image_subcommands[i];
        if (!s)
                return usage(options->args[0], "unknown subcommand");
        for (size_t i = 0; i < ELEMENTSOF(image_flags); i++)
                if (options_flag(options, image_flags[i].name) &&
                    !subcommand_takes(s, image_flags[i].name))
                        return usage(s->name, "unknown option '%s'", image_flags[i].name);
        n = options->n_args - 1;
        if (n < s->n_args_min)
                return usage(s->name, "missing argument");
        if (n > s->n_args_max)
                return usage(s->name, "too many arguments");
        return s->run(options, options->args + 1, n);
}

const Command command_image = {
        .syntax = {
                .name = "image",
                .usage = "SUBCOMMAND [ARGUMENTS]",
                .flags = image_flags,
                .n_flags = ELEMENTSOF(image_flags),
                .n_args_min = 1,
                .n_args_max = SIZE_MAX,
        },
        .summary =
                "The image store. IMAGE is sha512-HEX (an ID or a prefix of at least 2 hex\n"
                "digits) or NAME[:VERSION]; --label NAME=VALUE (repeatable) narrows a NAME.\n"
                "  import FILE... [--allow-device-nodes]  store ACIs; prints each image ID\n"
                "  list [--name-prefix P] [--label K=V] [--full]\n"
                "  inspect IMAGE                          store entry, trees and manifest\n"
                "  rm IMAGE...                            remove images and their trees\n"
                "  gc [--grace-period DURATION]           e.g. 30m, 24h, 1h30m (default 24h)\n"
                "  render IMAGE DIR [--rootfs-only] [--overwrite]\n"
                "  verify IMAGE                           re-check the image and its trees",
        .run = image_run,
};
