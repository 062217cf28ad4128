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
#include "latency.h"
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
        Latency latency;             /* round-trip times */
        int error;
        pthread_t thread;
} Worker;

typedef struct BenchResult {
        LatencyStats stats;
        double seconds;
} BenchResult;

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
                uint64_t t0 = latency_now_nsec(), t1;
                int r;

                if (t0 >= w->end)
                        return 0;
                r = round_trip(client);
                if (r < 0)
                        return r;
                t1 = latency_now_nsec();
                if (t0 >= w->warm_end) {
                        r = latency_record(&w->latency, t1 - t0);
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

static int merge(const Worker *workers, unsigned n, BenchResult *ret) {
        const Latency *sets[CONNECTIONS_MAX];

        for (unsigned i = 0; i < n; i++)
                sets[i] = &workers[i].latency;
        return latency_merge(sets, n, &ret->stats);
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
        t0 = latency_now_nsec();
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
                r = merge(workers, n, ret);
        ret->seconds = config->seconds;
        for (unsigned i = 0; i < n; i++)
                latency_done(&workers[i].latency);
        return r;
}

static void print_row(const char *mode, unsigned n, const BenchResult *res) {
        printf("%-22s %5u %10llu %12.0f %9.1f %9.1f %9.1f\n", mode, n, res->stats.calls,
               (double) res->stats.calls / res->seconds, (double) res->stats.p50 / 1e3,
               (double) res->stats.p99 / 1e3, (double) res->stats.max / 1e3);
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
                        if (latency_parse_seconds(optarg, &config.seconds) < 0 ||
                            config.seconds == 0.0)
                                return usage(2);
                        break;
                case 'w':
                        if (latency_parse_seconds(optarg, &config.warmup) < 0)
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
