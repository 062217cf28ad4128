/* bench-varlink: round-trip cost of org.varlink.service.GetInfo against a running varlink
 * service (stage0d; bench/run-varlink.sh starts one), through libstage0's blocking client.
 *
 * Each row runs one thread per connection; each thread calls, waits for the reply, and calls
 * again. After a warm-up, every round trip is timed from just before the send to just after
 * the reply is parsed, so the figures include the client library's own cost. Rows: one
 * connection, then N connections in parallel (default 8). Prints calls/s and the p50, p99 and
 * maximum latency in µs as a table. Any failed or error reply stops the run with exit 1. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "varlink-client.h"

#define USEC_PER_SEC 1000000ULL
#define CALL_TIMEOUT_USEC (5ULL * USEC_PER_SEC)
#define CONNECTIONS_MAX 256u

typedef struct BenchConfig {
        const char *address;
        double seconds;
        double warmup;
        unsigned connections;
} BenchConfig;

/* One connection's thread: its samples and how it ended. */
typedef struct Worker {
        const BenchConfig *config;
        pthread_barrier_t *start;
        uint64_t warm_end, end;      /* set by the main thread before the barrier opens */
        uint64_t *samples;           /* round-trip times in ns */
        size_t n_samples, n_alloc;
        int error;
        pthread_t thread;
} Worker;

typedef struct BenchResult {
        unsigned long long calls;
        double seconds;
        uint64_t p50, p99, max;      /* ns */
} BenchResult;

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int worker_record(Worker *w, uint64_t ns) {
        if (w->n_samples == w->n_alloc) {
                size_t n = w->n_alloc ? w->n_alloc * 2 : 65536;
                uint64_t *p = realloc(w->samples, n * sizeof(uint64_t));

                if (!p)
                        return -ENOMEM;
                w->samples = p;
                w->n_alloc = n;
        }
        w->samples[w->n_samples++] = ns;
        return 0;
}

static int round_trip(VarlinkClient *client) {
        VarlinkReply reply = {};
        int r;

        r = varlink_client_call(client, "org.varlink.service.GetInfo", NULL, CALL_TIMEOUT_USEC,
                                &reply);
        if (r >= 0 && reply.error)
                r = -EPROTO;
        varlink_reply_clear(&reply);
        return r;
}

static int worker_loop(Worker *w, VarlinkClient *client) {
        for (;;) {
                uint64_t t0 = now_nsec(), t1;
                int r;

                if (t0 >= w->end)
                        return 0;
                r = round_trip(client);
                if (r < 0)
                        return r;
                t1 = now_nsec();
                if (t0 >= w->warm_end) {
                        r = worker_record(w, t1 - t0);
                        if (r < 0)
                                return r;
                }
        }
}

static void *worker_main(void *userdata) {
        Worker *w = userdata;
        VarlinkClient *client = NULL;

        /* Connect before the barrier so that no row times a connect(). */
        w->error = varlink_client_connect(&client, w->config->address);
        pthread_barrier_wait(w->start);
        pthread_barrier_wait(w->start);  /* the main thread has set the times */
        if (w->error >= 0)
                w->error = worker_loop(w, client);
        varlink_client_free(client);
        return NULL;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static int merge_samples(Worker *workers, unsigned n, BenchResult *ret) {
        _cleanup_free_ uint64_t *all = NULL;
        size_t total = 0, at = 0;

        for (unsigned i = 0; i < n; i++)
                total += workers[i].n_samples;
        if (total == 0)
                return -ENODATA;
        all = malloc(total * sizeof(uint64_t));
        if (!all)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                memcpy(all + at, workers[i].samples, workers[i].n_samples * sizeof(uint64_t));
                at += workers[i].n_samples;
        }
        qsort(all, total, sizeof(uint64_t), compare_u64);
        ret->calls = total;
        ret->p50 = all[(total - 1) * 50 / 100];
        ret->p99 = all[(total - 1) * 99 / 100];
        ret->max = all[total - 1];
        return 0;
}

static void start_workers(Worker *workers, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                int r = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

                /* Threads already started wait at the barrier, which can then never open. */
                if (r != 0) {
                        fprintf(stderr, "bench-varlink: pthread_create: %s\n", strerror(r));
                        exit(EXIT_FAILURE);
                }
        }
}

/* Runs one row: n connections, each on its own thread, for the configured time. */
static int bench_row(const BenchConfig *config, unsigned n, BenchResult *ret) {
        _cleanup_free_ Worker *workers = calloc(n, sizeof(Worker));
        pthread_barrier_t start;
        uint64_t t0;
        int r = 0;

        if (!workers)
                return -ENOMEM;
        pthread_barrier_init(&start, NULL, n + 1);
        for (unsigned i = 0; i < n; i++)
                workers[i] = (Worker) { .config = config, .start = &start };
        start_workers(workers, n);
        pthread_barrier_wait(&start);
        t0 = now_nsec();
        for (unsigned i = 0; i < n; i++) {
                workers[i].warm_end = t0 + (uint64_t) (config->warmup * 1e9);
                workers[i].end = workers[i].warm_end + (uint64_t) (config->seconds * 1e9);
        }
        pthread_barrier_wait(&start);
        for (unsigned i = 0; i < n; i++) {
                pthread_join(workers[i].thread, NULL);
                if (workers[i].error < 0 && r >= 0)
                        r = workers[i].error;
        }
        pthread_barrier_destroy(&start);
        if (r >= 0)
                r = merge_samples(workers, n, ret);
        ret->seconds = config->seconds;
        for (unsigned i = 0; i < n; i++)
                free(workers[i].samples);
        return r;
}

static void print_row(const char *mode, unsigned n, const BenchResult *res) {
        printf("%-22s %5u %10llu %12.0f %9.1f %9.1f %9.1f\n", mode, n, res->calls,
               (double) res->calls / res->seconds, (double) res->p50 / 1e3,
               (double) res->p99 / 1e3, (double) res->max / 1e3);
}

static int run(const BenchConfig *config) {
        const struct {
                const char *mode;
                unsigned connections;
        } rows[] = {
                { "sequential", 1 },
                { "parallel", config->connections },
        };

        printf("GetInfo round trips on %s, %.1f s each after %.1f s warm-up\n", config->address,
               config->seconds, config->warmup);
        /* "µs" is two bytes for one column. */
        printf("%-22s %5s %10s %12s %10s %10s %10s\n", "mode", "conns", "calls", "calls/s",
               "p50 µs", "p99 µs", "max µs");
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                BenchResult res = {};
                int r = bench_row(config, rows[i].connections, &res);

                if (r < 0) {
                        fprintf(stderr, "bench-varlink: %s over %u connections: %s\n",
                                rows[i].mode, rows[i].connections, strerror(-r));
                        return r;
                }
                print_row(rows[i].mode, rows[i].connections, &res);
                fflush(stdout);
        }
        return 0;
}

static int parse_seconds(const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 3600.0))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int usage(int status) {
        fprintf(status ? stderr : stdout,
                "usage: bench-varlink [--seconds S] [--warmup S] [--connections N] ADDRESS\n"
                "  ADDRESS       unix:/path of a running varlink service (e.g. stage0d)\n"
                "  --seconds S   measured time per row (default 3)\n"
                "  --warmup S    unmeasured time before each row (default 0.5)\n"
                "  --connections N  connections of the parallel row (default 8)\n");
        return status;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "seconds", required_argument, NULL, 's' },
                { "warmup", required_argument, NULL, 'w' },
                { "connections", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        BenchConfig config = { .seconds = 3.0, .warmup = 0.5, .connections = 8 };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "s:w:c:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (parse_seconds(optarg, &config.seconds) < 0 || config.seconds == 0.0)
                                return usage(2);
                        break;
                case 'w':
                        if (parse_seconds(optarg, &config.warmup) < 0)
                                return usage(2);
                        break;
                case 'c':
                        errno = 0;
                        config.connections = (unsigned) strtoul(optarg, &end, 10);
                        if (errno || *end || optarg[0] == '-' || config.connections == 0 ||
                            config.connections > CONNECTIONS_MAX)
                                return usage(2);
                        break;
                case 'h':
                        return usage(0);
                default:
                        return usage(2);
                }
        }
        if (optind != argc - 1)
                return usage(2);
        config.address = argv[optind];
        return run(&config) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
