/* bench-prepare: latency and throughput of io.stage0.Pods.Prepare on a running stage0d
 * (bench/prepare.sh starts one), through libstage0's blocking client.
 *
 * Each row runs one thread per connection; each thread sends a Prepare, waits for the final
 * reply, and sends the next. After a warm-up, every call is timed from just before the send to
 * just after the reply is parsed. Rows: one connection, then N in parallel (default 50). Every
 * pod the bench prepares, warm-up included, is removed with Pods.Remove after its row (not
 * timed), so the data dir ends as it began. Any failed or error reply stops the run with exit
 * status 1, after removing what was prepared. */
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
#define CALL_TIMEOUT_USEC (60ULL * USEC_PER_SEC)
#define CONNECTIONS_MAX 256u
#define UUID_LEN 36

typedef struct BenchConfig {
        const char *address;
        const char *image;
        const char *exec;
        double seconds;
        double warmup;
        unsigned connections;
} BenchConfig;

/* One connection's thread: its samples, the pods it made, and how it ended. */
typedef struct Worker {
        const BenchConfig *config;
        json_object *spec;           /* its own copy: json-c's reference counts are not atomic */
        pthread_barrier_t *start;
        uint64_t warm_end, end;      /* set by the main thread before the barrier opens */
        Latency latency;             /* Prepare times */
        char (*uuids)[UUID_LEN + 1]; /* every pod prepared, warm-up included */
        size_t n_uuids, n_uuids_alloc;
        VarlinkClient *client;
        int error;
        char *error_name;            /* the varlink error of a refused call */
        pthread_t thread;
} Worker;

typedef struct BenchResult {
        LatencyStats stats;
        double seconds;
} BenchResult;

static int grow(void **p, size_t *alloc, size_t n, size_t size) {
        size_t m;
        void *q;

        if (n < *alloc)
                return 0;
        m = *alloc ? *alloc * 2 : 1024;
        q = realloc(*p, m * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *alloc = m;
        return 0;
}

static int worker_keep_uuid(Worker *w, json_object *parameters) {
        const char *uuid = json_object_get_string(json_object_object_get(parameters, "uuid"));
        int r;

        if (!uuid || strlen(uuid) != UUID_LEN)
                return -EBADMSG;
        r = grow((void **) &w->uuids, &w->n_uuids_alloc, w->n_uuids, UUID_LEN + 1);
        if (r < 0)
                return r;
        memcpy(w->uuids[w->n_uuids++], uuid, UUID_LEN + 1);
        return 0;
}

/* Keeps the error name of a refused call for the report. */
static int worker_refused(Worker *w, VarlinkReply *reply) {
        free(w->error_name);
        w->error_name = TAKE_PTR(reply->error);
        return -EPROTO;
}

static int prepare_once(Worker *w) {
        VarlinkReply reply = {};
        int r;

        r = varlink_client_call(w->client, "io.stage0.Pods.Prepare", w->spec, CALL_TIMEOUT_USEC,
                                &reply);
        if (r >= 0)
                r = reply.error ? worker_refused(w, &reply) : worker_keep_uuid(w, reply.parameters);
        varlink_reply_clear(&reply);
        return r;
}

static int worker_loop(Worker *w) {
        for (;;) {
                uint64_t t0 = latency_now_nsec(), t1;
                int r;

                if (t0 >= w->end)
                        return 0;
                r = prepare_once(w);
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

        /* Connect before the barrier so that no row times a connect(). */
        w->error = varlink_client_connect(&w->client, w->config->address);
        pthread_barrier_wait(w->start);
        pthread_barrier_wait(w->start);  /* the main thread has set the times */
        if (w->error >= 0)
                w->error = worker_loop(w);
        return NULL;
}

/* After the row, on the worker's own connection (or a new one if it never connected). */
static int worker_remove_pods(Worker *w) {
        int r = 0;

        if (!w->client && varlink_client_connect(&w->client, w->config->address) < 0)
                return -ENOTCONN;
        for (size_t i = 0; i < w->n_uuids; i++) {
                _cleanup_json_ json_object *p = json_object_new_object();
                VarlinkReply reply = {};
                int k;

                if (!p)
                        return -ENOMEM;
                json_object_object_add(p, "uuid", json_object_new_string(w->uuids[i]));
                k = varlink_client_call(w->client, "io.stage0.Pods.Remove", p, CALL_TIMEOUT_USEC,
                                        &reply);
                if (k >= 0 && reply.error) {
                        fprintf(stderr, "bench-prepare: removing %s: %s\n", w->uuids[i],
                                reply.error);
                        k = -EPROTO;
                }
                varlink_reply_clear(&reply);
                if (k < 0 && r >= 0)
                        r = k;
        }
        return r;
}

static void *worker_cleanup_main(void *userdata) {
        Worker *w = userdata;
        int r = worker_remove_pods(w);

        if (r < 0 && w->error >= 0)
                w->error = r;
        return NULL;
}

static int merge(const Worker *workers, unsigned n, BenchResult *ret) {
        const Latency *sets[CONNECTIONS_MAX];

        for (unsigned i = 0; i < n; i++)
                sets[i] = &workers[i].latency;
        return latency_merge(sets, n, &ret->stats);
}

static void start_threads(Worker *workers, unsigned n, void *(*fn)(void *)) {
        for (unsigned i = 0; i < n; i++) {
                int r = pthread_create(&workers[i].thread, NULL, fn, &workers[i]);

                /* Threads already started may wait at a barrier that can then never open. */
                if (r != 0) {
                        fprintf(stderr, "bench-prepare: pthread_create: %s\n", strerror(r));
                        exit(EXIT_FAILURE);
                }
        }
}

static void join_threads(Worker *workers, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                pthread_join(workers[i].thread, NULL);
}

/* Removes every pod of the row, one thread per connection, and frees the workers' data. */
static int cleanup_row(Worker *workers, unsigned n, size_t *ret_removed) {
        int r = 0;

        start_threads(workers, n, worker_cleanup_main);
        join_threads(workers, n);
        *ret_removed = 0;
        for (unsigned i = 0; i < n; i++) {
                if (workers[i].error < 0 && r >= 0) {
                        r = workers[i].error;
                        if (workers[i].error_name)
                                fprintf(stderr, "bench-prepare: Prepare failed: %s\n",
                                        workers[i].error_name);
                }
                *ret_removed += workers[i].n_uuids;
                varlink_client_free(workers[i].client);
                json_object_put(workers[i].spec);
                latency_done(&workers[i].latency);
                free(workers[i].uuids);
                free(workers[i].error_name);
        }
        return r;
}

static void time_row(const BenchConfig *config, Worker *workers, unsigned n,
                     pthread_barrier_t *start) {
        uint64_t t0;

        start_threads(workers, n, worker_main);
        pthread_barrier_wait(start);
        t0 = latency_now_nsec();
        for (unsigned i = 0; i < n; i++) {
                workers[i].warm_end = t0 + (uint64_t) (config->warmup * 1e9);
                workers[i].end = workers[i].warm_end + (uint64_t) (config->seconds * 1e9);
        }
        pthread_barrier_wait(start);
        join_threads(workers, n);
}

/* Runs one row: n connections, each on its own thread, for the configured time. */
static int bench_row(const BenchConfig *config, json_object *spec, unsigned n,
                     BenchResult *ret, size_t *ret_removed) {
        _cleanup_free_ Worker *workers = calloc(n, sizeof(Worker));
        pthread_barrier_t start;
        int r;

        if (!workers)
                return -ENOMEM;
        pthread_barrier_init(&start, NULL, n + 1);
        for (unsigned i = 0; i < n; i++) {
                workers[i] = (Worker) { .config = config, .start = &start };
                if (json_object_deep_copy(spec, &workers[i].spec, NULL) < 0) {
                        while (i > 0)
                                json_object_put(workers[--i].spec);
                        pthread_barrier_destroy(&start);
                        return -ENOMEM;
                }
        }
        time_row(config, workers, n, &start);
        pthread_barrier_destroy(&start);
        r = merge(workers, n, ret);
        ret->seconds = config->seconds;
        r = cleanup_row(workers, n, ret_removed) < 0 ? -EPROTO : r;
        return r;
}

/* {"spec":{"apps":[{"image":{"name":IMAGE},"exec":EXEC}],"overlay":true}} */
static json_object *make_spec(const BenchConfig *config) {
        json_object *image = json_object_new_object(), *app = json_object_new_object();
        json_object *apps = json_object_new_array(), *spec = json_object_new_object();
        json_object *p = json_object_new_object();

        json_object_object_add(image, "name", json_object_new_string(config->image));
        json_object_object_add(app, "image", image);
        json_object_object_add(app, "exec", json_object_new_string(config->exec));
        json_object_array_add(apps, app);
        json_object_object_add(spec, "apps", apps);
        json_object_object_add(spec, "overlay", json_object_new_boolean(1));
        json_object_object_add(p, "spec", spec);
        return p;
}

static void print_row(const char *mode, unsigned n, const BenchResult *res, size_t removed) {
        printf("%-12s %5u %9llu %11.1f %9.2f %9.2f %9.2f %8zu\n", mode, n, res->stats.calls,
               (double) res->stats.calls / res->seconds, (double) res->stats.p50 / 1e6,
               (double) res->stats.p99 / 1e6, (double) res->stats.max / 1e6, removed);
}

static int run(const BenchConfig *config) {
        const struct {
                const char *mode;
                unsigned connections;
        } rows[] = {
                { "sequential", 1 },
                { "parallel", config->connections },
        };
        _cleanup_json_ json_object *spec = make_spec(config);

        printf("Pods.Prepare of %s (overlay) on %s, %.1f s each after %.1f s warm-up\n",
               config->image, config->address, config->seconds, config->warmup);
        printf("%-12s %5s %9s %11s %9s %9s %9s %8s\n", "mode", "conns", "prepares",
               "prepares/s", "p50 ms", "p99 ms", "max ms", "removed");
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                BenchResult res = {};
                size_t removed = 0;
                int r = bench_row(config, spec, rows[i].connections, &res, &removed);

                if (r < 0) {
                        fprintf(stderr, "bench-prepare: %s over %u connections: %s\n",
                                rows[i].mode, rows[i].connections, strerror(-r));
                        return r;
                }
                print_row(rows[i].mode, rows[i].connections, &res, removed);
                fflush(stdout);
        }
        return 0;
}

static int usage(int status) {
        fprintf(status ? stderr : stdout,
                "usage: bench-prepare [--seconds S] [--warmup S] [--connections N]\n"
                "                     [--image NAME] [--exec PATH] ADDRESS\n"
                "  ADDRESS          unix:/path of a running stage0d with the image imported\n"
                "  --seconds S      measured time per row (default 5)\n"
                "  --warmup S       unmeasured time before each row (default 1)\n"
                "  --connections N  connections of the parallel row (default 50)\n"
                "  --image NAME     image of the one app (default stage0.io/test/busybox)\n"
                "  --exec PATH      the app's exec (default /bin/true)\n");
        return status;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "seconds", required_argument, NULL, 's' },
                { "warmup", required_argument, NULL, 'w' },
                { "connections", required_argument, NULL, 'c' },
                { "image", required_argument, NULL, 'i' },
                { "exec", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        BenchConfig config = { .seconds = 5.0, .warmup = 1.0, .connections = 50,
                               .image = "stage0.io/test/busybox", .exec = "/bin/true" };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "s:w:c:i:e:h", options, NULL)) >= 0) {
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
                case 'i':
                        config.image = optarg;
                        break;
                case 'e':
                        config.exec = optarg;
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
