/* stage0d's entry point: parses and validates the command line into a DaemonConfig, sets up
 * logging, and runs the Daemon. Exit status: 0 after a clean shutdown, 1 when the daemon fails,
 * 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "image-store.h"

#define EXIT_USAGE 2
#define COUNT_MAX 1048576ULL
#define BYTES_MIN 1024ULL
#define BYTES_MAX (1024ULL * 1024ULL * 1024ULL)
#define GROUP_NAME_MAX 64
#define IMAGE_SIZE_LIMIT_MAX (1ULL << 40)

enum {
        ARG_SOCKET = 0x100,
        ARG_DATA_DIR,
        ARG_STAGE1_IMAGE,
        ARG_DEBUG,
        ARG_GROUP,
        ARG_MAX_CONNECTIONS,
        ARG_MAX_CONNECTIONS_PER_UID,
        ARG_MAX_MESSAGE_SIZE,
        ARG_MAX_OUTPUT_QUEUE,
        ARG_VERSION,
        ARG_MAX_IMAGE_SIZE,
        ARG_TPM_TCTI,
        ARG_TPM_PCR,
        ARG_TPM_TIMEOUT,
        ARG_GC_INTERVAL,
};

static void help(void) {
        printf("Usage: stage0d [OPTIONS]\n"
               "\n"
               "The stage0 pod runtime daemon: serves io.stage0.Images and io.stage0.Pods over\n"
               "varlink on the socket systemd passes (named \"varlink\") or on --socket.\n"
               "\n"
               "  --socket PATH                 socket to create when systemd passes none\n"
               "                                (default %s)\n"
               "  --data-dir DIR                image store and pods (default %s)\n"
               "  --stage1-image PATH           stage1 image to use for pods\n"
               "  --group NAME                  group that owns the socket and may call read-only\n"
               "                                methods (default stage0)\n"
               "  --max-connections N           connections in total (default %u)\n"
               "  --max-connections-per-uid N   connections per peer uid (default %u)\n"
               "  --max-message-size BYTES      largest message read or sent (default %u)\n"
               "  --max-output-queue BYTES      unsent replies per connection (default %u)\n"
               "  --max-image-size BYTES        largest uncompressed image to import\n"
               "                                (default %llu)\n"
               "  --tpm-tcti CONF               TPM to measure pods into (default device:/dev/tpmrm0)\n"
               "  --tpm-pcr N                   PCR to extend (default 15)\n"
               "  --tpm-timeout MS              bound of one measurement (default 2000)\n"
               "  --gc-interval SECONDS         collect garbage this often, 0 for never\n"
               "                                (default 600)\n"
               "  --debug                       log debug messages\n"
               "  -h --help                     show this help\n"
               "  --version                     show the version\n",
               STAGE0_DEFAULT_SOCKET, STAGE0_DEFAULT_DATA_DIR, VARLINK_CONNECTIONS_MAX_DEFAULT,
               VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT, VARLINK_MESSAGE_SIZE_MAX_DEFAULT,
               VARLINK_OUTPUT_QUEUE_MAX_DEFAULT, (unsigned long long) IMAGE_SIZE_MAX_DEFAULT);
}

static int usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *format, ...) {
        va_list ap;

        fputs("stage0d: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\nTry 'stage0d --help'.\n", stderr);
        return -EINVAL;
}

/* A plain decimal number in [min, max]: no sign, no spaces, no suffix. */
static int parse_number(const char *option, const char *value, unsigned long long min,
                        unsigned long long max, unsigned long long *ret) {
        unsigned long long v;
        char *end;

        if (value[0] < '0' || value[0] > '9')
                return usage_error("%s: '%s' is not a number", option, value);
        errno = 0;
        v = strtoull(value, &end, 10);
        if (*end != '\0')
                return usage_error("%s: '%s' is not a number", option, value);
        if (errno == ERANGE || v < min || v > max) {
                usage_error("%s: %s is out of range, must be between %llu and %llu", option,
                            value, min, max);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

static int parse_count(const char *option, const char *value, unsigned *ret) {
        unsigned long long v;
        int r = parse_number(option, value, 1, COUNT_MAX, &v);

        if (r < 0)
                return r;
        *ret = (unsigned) v;
        return 0;
}

static int parse_bytes(const char *option, const char *value, size_t *ret) {
        unsigned long long v;
        int r = parse_number(option, value, BYTES_MIN, BYTES_MAX, &v);

        if (r < 0)
                return r;
        *ret = (size_t) v;
        return 0;
}

static int parse_absolute_path(const char *option, const char *value, size_t max,
                               const char **ret) {
        if (value[0] != '/')
                return usage_error("%s: '%s' is not an absolute path", option, value);
        if (strlen(value) >= max) {
                usage_error("%s: path is longer than %zu bytes", option, max - 1);
                return -ENAMETOOLONG;
        }
        *ret = value;
        return 0;
}

static int parse_socket(const char *value, const char **ret) {
        struct sockaddr_un sa;

        /* The address form stage0c takes is accepted too. */
        if (strncmp(value, "unix:", 5) == 0)
                value += 5;
        return parse_absolute_path("--socket", value, sizeof(sa.sun_path), ret);
}

static int parse_group(const char *value, const char **ret) {
        if (value[0] == '\0')
                return usage_error("--group: the group name is empty");
        if (strlen(value) > GROUP_NAME_MAX || strpbrk(value, ":/ \t\n"))
                return usage_error("--group: '%s' is not a valid group name", value);
        *ret = value;
        return 0;
}

static const struct option options[] = {
        { "socket",                  required_argument, NULL, ARG_SOCKET },
        { "data-dir",                required_argument, NULL, ARG_DATA_DIR },
        { "stage1-image",            required_argument, NULL, ARG_STAGE1_IMAGE },
        { "debug",                   no_argument,       NULL, ARG_DEBUG },
        { "group",                   required_argument, NULL, ARG_GROUP },
        { "max-connections",         required_argument, NULL, ARG_MAX_CONNECTIONS },
        { "max-connections-per-uid", required_argument, NULL, ARG_MAX_CONNECTIONS_PER_UID },
        { "max-message-size",        required_argument, NULL, ARG_MAX_MESSAGE_SIZE },
        { "max-output-queue",        required_argument, NULL, ARG_MAX_OUTPUT_QUEUE },
        { "help",                    no_argument,       NULL, 'h' },
        { "version",                 no_argument,       NULL, ARG_VERSION },
        { "max-image-size",          required_argument, NULL, ARG_MAX_IMAGE_SIZE },
        { "tpm-tcti",                required_argument, NULL, ARG_TPM_TCTI },
        { "tpm-pcr",                 required_argument, NULL, ARG_TPM_PCR },
        { "tpm-timeout",             required_argument, NULL, ARG_TPM_TIMEOUT },
        { "gc-interval",             required_argument, NULL, ARG_GC_INTERVAL },
        {}
};

static int parse_option(int c, DaemonConfig *config) {
        switch (c) {
        case ARG_SOCKET:
                return parse_socket(optarg, &config->socket_path);
        case ARG_DATA_DIR:
                return parse_absolute_path("--data-dir", optarg, PATH_MAX, &config->data_dir);
        case ARG_STAGE1_IMAGE:
                return parse_absolute_path("--stage1-image", optarg, PATH_MAX,
                                           &config->stage1_image);
        case ARG_DEBUG:
                log_set_max_level(LOG_DEBUG);
                return 0;
        case ARG_GROUP:
                return parse_group(optarg, &config->group);
        case ARG_MAX_CONNECTIONS:
                return parse_count("--max-connections", optarg, &config->limits.connections_max);
        case ARG_MAX_CONNECTIONS_PER_UID:
                return parse_count("--max-connections-per-uid", optarg,
                                   &config->limits.connections_per_uid_max);
        case ARG_MAX_MESSAGE_SIZE:
                return parse_bytes("--max-message-size", optarg, &config->limits.message_size_max);
        case ARG_MAX_OUTPUT_QUEUE:
                return parse_bytes("--max-output-queue", optarg, &config->limits.output_queue_max);
        case ARG_MAX_IMAGE_SIZE: {
                unsigned long long v;
                int r = parse_number("--max-image-size", optarg, BYTES_MIN, IMAGE_SIZE_LIMIT_MAX, &v);

                if (r < 0)
                        return r;
                config->max_image_size = v;
                return 0;
        }
        case ARG_TPM_TCTI:
                if (!optarg[0] || strlen(optarg) > 1024 || strpbrk(optarg, "\n"))
                        return usage_error("--tpm-tcti: '%s' is not a TCTI configuration", optarg);
                config->tpm_tcti = optarg;
                return 0;
        case ARG_TPM_PCR: {
                unsigned long long v;
                int r = parse_number("--tpm-pcr", optarg, 0, 23, &v);

                if (r < 0)
                        return r;
                config->tpm_pcr = (int) v;
                return 0;
        }
        case ARG_TPM_TIMEOUT: {
                unsigned long long v;
                int r = parse_number("--tpm-timeout", optarg, 1, 60000, &v);

                if (r < 0)
                        return r;
                config->tpm_timeout_usec = v * 1000ULL;
                return 0;
        }
        case ARG_GC_INTERVAL: {
                unsigned long long v;
                int r = parse_number("--gc-interval", optarg, 0, 7ULL * 24 * 3600, &v);

                if (r < 0)
                        return r;
                config->gc_interval_usec = v == 0 ? UINT64_MAX : v * 1000000ULL;
                return 0;
        }
        default:
                /* getopt_long has already said what was wrong. */
                fprintf(stderr, "Try 'stage0d --help'.\n");
                return -EINVAL;
        }
}

/* Returns 1 to run, 0 to exit successfully (--help, --version), or a negative errno on a usage
 * error, already reported. */
static int parse_argv(int argc, char *argv[], DaemonConfig *config) {
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        help();
                        return 0;
                }
                if (c == ARG_VERSION) {
                        printf("stage0d %s\n", STAGE0_VERSION);
                        return 0;
                }
                r = parse_option(c, config);
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                return usage_error("unexpected argument '%s'", argv[optind]);
        }
        return 1;
}

static bool env_is_true(const char *name) {
        const char *v = getenv(name);

        return v && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0);
}

int main(int argc, char *argv[]) {
        DaemonConfig config = {
                .socket_path = STAGE0_DEFAULT_SOCKET,
                .data_dir = STAGE0_DEFAULT_DATA_DIR,
                .group = "stage0",
                .tpm_pcr = -1,
        };
        Daemon *d = NULL;
        int r;

        r = parse_argv(argc, argv, &config);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        config.check_replies = env_is_true("STAGE0_CHECK_REPLIES");

        /* A peer that hangs up must cost us an EPIPE, not the process. */
        signal(SIGPIPE, SIG_IGN);


        log_info("stage0d %s starting", STAGE0_VERSION);
        r = daemon_new(&d, &config);
        if (r < 0)
                return EXIT_FAILURE;
        r = daemon_run(d);
        daemon_free(d);
        if (r < 0)
                return EXIT_FAILURE;
        log_info("stage0d stopped");
        return EXIT_SUCCESS;
}
