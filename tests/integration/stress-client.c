/* stress-client: many-peer and misbehaving-peer load for a varlink service (stage0d in the
 * integration tests), built on libstage0's VarlinkClient.
 *
 *   ordered ADDRESS CONNECTIONS CALLS [SECONDS]
 *       Opens all CONNECTIONS at once, pipelines CALLS calls on each, then reads every reply
 *       with poll() across the connections. Call k on connection c is, by k % 3: GetInfo,
 *       GetInterfaceDescription of a real interface (rotating with c and k), or
 *       GetInterfaceDescription of "org.example.missing.c<c>.k<k>", whose InterfaceNotFound
 *       echoes that name back. So each reply's shape and content prove which call it answers.
 *       The expected answers are taken first on a separate connection.
 *   stall ADDRESS SECONDS [PEERS]
 *       Opens PEERS connections that each send part of a GetInfo call without its NUL, prints
 *       "stalled" and waits SECONDS; then completes every call and expects its GetInfo reply.
 *   noread ADDRESS CALLS SECONDS
 *       Pipelines CALLS interface descriptions and reads no reply for SECONDS.
 *   more-disconnect ADDRESS METHOD COUNT
 *       COUNT times: connects, calls METHOD with "more" and leaves in the middle of the stream,
 *       in four ways (after the first reply; before any reply; with a pipelined call queued
 *       behind the stream; after half-closing its side). Every first reply read must carry
 *       "continues".
 *
 * Everything is bounded in time. Exit status: 0 when every check held, 1 when one failed or
 * time ran out (the reason is printed), 2 on a usage error. One summary line goes to stdout. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "varlink-client.h"

#define USEC_PER_SEC 1000000ULL
#define ORDERED_SECONDS_DEFAULT 60u
#define STEP_TIMEOUT_USEC (5ULL * USEC_PER_SEC)
#define FAILURES_SHOWN 5u

#define METHOD_GET_INFO "org.varlink.service.GetInfo"
#define METHOD_DESCRIBE "org.varlink.service.GetInterfaceDescription"
#define ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000u;
}

/* Prints one failure reason and returns -EPROTO, for `return fail(...)`. */
__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...) {
        va_list ap;

        fputs("stress-client: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EPROTO;
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* Every connection is an fd on our side; the soft limit may be below what was asked for. */
static int raise_fd_limit(unsigned wanted) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= wanted)
                return 0;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < wanted)
                return fail("need %u fds, hard limit is %ju", wanted, (uintmax_t) rl.rlim_max);
        rl.rlim_cur = wanted;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

static int connect_to(const char *address, VarlinkClient **ret) {
        int r = varlink_client_connect(ret, address);

        if (r < 0)
                return fail("connecting to %s: %s", address, strerror(-r));
        return 0;
}

/* ---- ordered ---- */

/* What a correct service answers, learned on a connection of its own. */
typedef struct Reference {
        json_object *info;          /* GetInfo parameters */
        const char **names;         /* borrowed from info */
        char **descriptions;
        size_t n;
} Reference;

static void reference_done(Reference *ref) {
        for (size_t i = 0; i < ref->n; i++)
                free(ref->descriptions[i]);
        free(ref->descriptions);
        free(ref->names);
        json_object_put(ref->info);
}

typedef enum CallKind {
        CALL_INFO,
        CALL_DESCRIBE,
        CALL_MISSING,
        _CALL_KIND_MAX,
} CallKind;

/* The call k on connection c: what it asks and, for DESCRIBE, which interface. */
typedef struct CallPlan {
        CallKind kind;
        size_t interface;
        char missing[64];
} CallPlan;

static CallPlan call_plan(const Reference *ref, unsigned c, unsigned k) {
        CallPlan p = { .kind = (CallKind) (k % _CALL_KIND_MAX) };

        p.interface = ((size_t) c + k / _CALL_KIND_MAX) % ref->n;
        snprintf(p.missing, sizeof(p.missing), "org.example.missing.c%u.k%u", c, k);
        return p;
}

static json_object *describe_parameters(const char *interface) {
        json_object *o = json_object_new_object();

        if (o && json_object_object_add(o, "interface", json_object_new_string(interface)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int describe(VarlinkClient *client, const char *interface, char **ret) {
        _cleanup_json_ json_object *params = describe_parameters(interface);
        VarlinkReply reply = {};
        const char *text;
        int r;

        if (!params)
                return -ENOMEM;
        r = varlink_client_call(client, METHOD_DESCRIBE, params, STEP_TIMEOUT_USEC, &reply);
        if (r < 0)
                return fail("describing %s: %s", interface, strerror(-r));
        text = json_object_get_string(json_object_object_get(reply.parameters, "description"));
        if (reply.error || !text)
                r = fail("describing %s: got %s %s", interface, reply.error ? reply.error : "",
                         json_object_to_json_string(reply.parameters));
        else
                *ret = strdup(text);
        varlink_reply_clear(&reply);
        return r < 0 ? r : *ret ? 0 : -ENOMEM;
}

static int reference_take_info(Reference *ref, VarlinkReply *reply) {
        json_object *list;
        size_t n;

        if (reply->error)
                return fail("GetInfo answered %s", reply->error);
        list = json_object_object_get(reply->parameters, "interfaces");
        n = json_object_array_length(list);
        if (!json_object_is_type(list, json_type_array) || n == 0)
                return fail("GetInfo has no interfaces: %s",
                            json_object_to_json_string(reply->parameters));
        ref->names = calloc(n, sizeof(char *));
        ref->descriptions = calloc(n, sizeof(char *));
        if (!ref->names || !ref->descriptions)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                ref->names[i] = json_object_get_string(json_object_array_get_idx(list, i));
                if (!ref->names[i])
                        return fail("GetInfo interface %zu is not a string", i);
        }
        ref->info = TAKE_PTR(reply->parameters);
        ref->n = n;
        return 0;
}

/* Distinct texts are what let a DESCRIBE reply name the call it answers. */
static int reference_check_distinct(const Reference *ref) {
        for (size_t i = 0; i < ref->n; i++)
                for (size_t j = i + 1; j < ref->n; j++)
                        if (strcmp(ref->descriptions[i], ref->descriptions[j]) == 0)
                                return fail("%s and %s have the same description",
                                            ref->names[i], ref->names[j]);
        return 0;
}

static int reference_load(Reference *ref, const char *address) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        VarlinkReply reply = {};
        int r;

        r = connect_to(address, &client);
        if (r < 0)
                return r;
        r = varlink_client_call(client, METHOD_GET_INFO, NULL, STEP_TIMEOUT_USEC, &reply);
        if (r < 0)
                return fail("GetInfo: %s", strerror(-r));
        r = reference_take_info(ref, &reply);
        varlink_reply_clear(&reply);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ref->n; i++) {
                r = describe(client, ref->names[i], &ref->descriptions[i]);
                if (r < 0)
                        return r;
        }
        return reference_check_distinct(ref);
}

typedef struct Peer {
        VarlinkClient *client;
        unsigned index;
        unsigned received;
        bool failed;
} Peer;

static int peer_send(const Reference *ref, Peer *p, unsigned k, uint64_t deadline) {
        CallPlan plan = call_plan(ref, p->index, k);
        _cleanup_json_ json_object *params = NULL;
        uint64_t now = now_usec();

        if (plan.kind != CALL_INFO) {
                params = describe_parameters(plan.kind == CALL_DESCRIBE ?
                                             ref->names[plan.interface] : plan.missing);
                if (!params)
                        return -ENOMEM;
        }
        return varlink_client_send(p->client, plan.kind == CALL_INFO ? METHOD_GET_INFO :
                                   METHOD_DESCRIBE, params, 0, now < deadline ? deadline - now : 0);
}

/* NULL when the reply is the right answer to call k on connection c, else what is wrong. */
static const char *reply_mismatch(const Reference *ref, unsigned c, unsigned k,
                                  const VarlinkReply *reply) {
        CallPlan plan = call_plan(ref, c, k);
        json_object *v;

        switch (plan.kind) {
        case CALL_INFO:
                if (reply->error || !json_object_equal(reply->parameters, ref->info))
                        return "not the GetInfo answer";
                return NULL;
        case CALL_DESCRIBE:
                v = json_object_object_get(reply->parameters, "description");
                if (reply->error || !json_object_is_type(v, json_type_string) ||
                    strcmp(json_object_get_string(v), ref->descriptions[plan.interface]) != 0)
                        return "not the description asked for";
                return NULL;
        default:
                v = json_object_object_get(reply->parameters, "interface");
                if (!reply->error || strcmp(reply->error, ERROR_INTERFACE_NOT_FOUND) != 0 ||
                    !json_object_is_type(v, json_type_string) ||
                    strcmp(json_object_get_string(v), plan.missing) != 0)
                        return "not InterfaceNotFound for this call's name";
                return NULL;
        }
}

typedef struct OrderedRun {
        Reference ref;
        Peer *peers;
        unsigned n_peers;
        unsigned n_calls;
        unsigned n_failed;
        unsigned long long n_correct;
        uint64_t deadline;
} OrderedRun;

static void ordered_run_done(OrderedRun *run) {
        for (unsigned i = 0; run->peers && i < run->n_peers; i++)
                varlink_client_free(run->peers[i].client);
        free(run->peers);
        reference_done(&run->ref);
}

static void peer_fail(OrderedRun *run, Peer *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void peer_fail(OrderedRun *run, Peer *p, const char *fmt, ...) {
        va_list ap;

        p->failed = true;
        if (run->n_failed++ >= FAILURES_SHOWN)
                return;
        fprintf(stderr, "stress-client: connection %u, reply %u: ", p->index, p->received);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* Takes every complete reply buffered or readable now; a zero timeout makes the read give
 * -ETIMEDOUT instead of waiting once nothing complete is left. */
static void peer_drain(OrderedRun *run, Peer *p) {
        while (!p->failed && p->received < run->n_calls) {
                VarlinkReply reply = {};
                const char *wrong;
                int r = varlink_client_read(p->client, &reply, 0);

                if (r == -ETIMEDOUT)
                        return;
                if (r < 0) {
                        peer_fail(run, p, "read failed: %s", strerror(-r));
                        return;
                }
                wrong = reply_mismatch(&run->ref, p->index, p->received, &reply);
                if (wrong)
                        peer_fail(run, p, "%s: %s %s", wrong, reply.error ? reply.error : "",
                                  json_object_to_json_string(reply.parameters));
                else
                        run->n_correct++;
                p->received++;
                varlink_reply_clear(&reply);
        }
}

static unsigned ordered_poll_set(OrderedRun *run, struct pollfd *fds, Peer **which) {
        unsigned n = 0;

        for (unsigned i = 0; i < run->n_peers; i++) {
                Peer *p = &run->peers[i];

                if (p->failed || p->received >= run->n_calls)
                        continue;
                fds[n] = (struct pollfd) { .fd = varlink_client_fd(p->client), .events = POLLIN };
                which[n++] = p;
        }
        return n;
}

/* Wakes up at least once a second so the deadline is checked even when nothing moves. */
static int poll_timeout_ms(uint64_t left_usec) {
        uint64_t ms = (left_usec + 999) / 1000;

        return ms > 1000 ? 1000 : (int) ms;
}

static int ordered_collect(OrderedRun *run) {
        _cleanup_free_ struct pollfd *fds = calloc(run->n_peers, sizeof(struct pollfd));
        _cleanup_free_ Peer **which = calloc(run->n_peers, sizeof(Peer *));
        unsigned n;

        if (!fds || !which)
                return -ENOMEM;
        while ((n = ordered_poll_set(run, fds, which)) > 0) {
                uint64_t now = now_usec();
                int r;

                if (now >= run->deadline)
                        return fail("timed out with %u connections still waiting for replies", n);
                r = poll(fds, n, poll_timeout_ms(run->deadline - now));
                if (r < 0 && errno != EINTR)
                        return -errno;
                for (unsigned i = 0; r > 0 && i < n; i++)
                        if (fds[i].revents)
                                peer_drain(run, which[i]);
        }
        return 0;
}

static int ordered_open_and_send(OrderedRun *run, const char *address) {
        int r;

        /* All connections exist before the first call goes out. */
        for (unsigned i = 0; i < run->n_peers; i++) {
                run->peers[i].index = i;
                r = connect_to(address, &run->peers[i].client);
                if (r < 0)
                        return fail("connection %u of %u could not be opened", i, run->n_peers);
        }
        for (unsigned i = 0; i < run->n_peers; i++)
                for (unsigned k = 0; k < run->n_calls; k++) {
                        r = peer_send(&run->ref, &run->peers[i], k, run->deadline);
                        if (r < 0)
                                return fail("connection %u, call %u: send failed: %s", i, k,
                                            strerror(-r));
                }
        return 0;
}

static int mode_ordered(int argc, char **argv) {
        _cleanup_(ordered_run_done) OrderedRun run = {};
        unsigned seconds = ORDERED_SECONDS_DEFAULT;
        uint64_t start;
        int r;

        if (parse_unsigned(argv[3], 1, 100000, &run.n_peers) < 0 ||
            parse_unsigned(argv[4], 1, 1000000, &run.n_calls) < 0 ||
            (argc > 5 && parse_unsigned(argv[5], 1, 3600, &seconds) < 0))
                return -EINVAL;
        r = raise_fd_limit(run.n_peers + 64);
        if (r < 0)
                return r;
        start = now_usec();
        run.deadline = start + seconds * USEC_PER_SEC;
        r = reference_load(&run.ref, argv[2]);
        if (r < 0)
                return r;
        run.peers = calloc(run.n_peers, sizeof(Peer));
        if (!run.peers)
                return -ENOMEM;
        r = ordered_open_and_send(&run, argv[2]);
        if (r < 0)
                return r;
        r = ordered_collect(&run);
        if (r < 0)
                return r;
        if (run.n_failed > 0)
                return fail("%u of %u connections got a wrong or no reply", run.n_failed,
                            run.n_peers);
        printf("ordered: %u connections x %u calls: %llu replies correct and in order in %.2f s\n",
               run.n_peers, run.n_calls, run.n_correct, (double) (now_usec() - start) / 1e6);
        return 0;
}

/* ---- stall ---- */

/* The parts a stalled call is cut into: everything before the cut is sent up front. */
static const char *const stall_heads[] = {
        "{",
        "{\"method\":\"org.varlink.service.Get",
        "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{}}",
};
static const char stall_call[] = "{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{}}";

static int write_all(int fd, const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        if (poll(&p, 1, (int) (STEP_TIMEOUT_USEC / 1000)) <= 0)
                                return -ETIMEDOUT;
                        continue;
                }
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0) {
                        s += n;
                        len -= (size_t) n;
                }
        }
        return 0;
}

static int stall_finish(VarlinkClient *client, size_t head) {
        const char *rest = stall_call + strlen(stall_heads[head]);
        VarlinkReply reply = {};
        int r;

        r = write_all(varlink_client_fd(client), rest, strlen(rest) + 1);  /* with the NUL */
        if (r < 0)
                return fail("completing the stalled call: %s", strerror(-r));
        r = varlink_client_read(client, &reply, STEP_TIMEOUT_USEC);
        if (r < 0)
                return fail("the stalled call got no reply: %s", strerror(-r));
        if (reply.error || !json_object_object_get(reply.parameters, "interfaces"))
                r = fail("the stalled call got a wrong reply: %s %s",
                         reply.error ? reply.error : "", json_object_to_json_string(reply.parameters));
        varlink_reply_clear(&reply);
        return r;
}

static int mode_stall(int argc, char **argv) {
        _cleanup_free_ VarlinkClient **clients = NULL;
        unsigned seconds, n = 1;
        int r = 0;

        if (parse_unsigned(argv[3], 0, 3600, &seconds) < 0 ||
            (argc > 4 && parse_unsigned(argv[4], 1, 1000, &n) < 0))
                return -EINVAL;
        clients = calloc(n, sizeof(VarlinkClient *));
        if (!clients)
                return -ENOMEM;
        for (unsigned i = 0; r >= 0 && i < n; i++) {
                const char *head = stall_heads[i % ELEMENTSOF(stall_heads)];

                r = connect_to(argv[2], &clients[i]);
                if (r >= 0)
                        r = write_all(varlink_client_fd(clients[i]), head, strlen(head));
        }
        if (r >= 0) {
                printf("stalled: %u connections\n", n);
                fflush(stdout);
                sleep(seconds);
        }
        for (unsigned i = 0; r >= 0 && i < n; i++)
                r = stall_finish(clients[i], i % ELEMENTSOF(stall_heads));
        for (unsigned i = 0; i < n; i++)
                varlink_client_free(clients[i]);
        if (r >= 0)
                printf("stall: %u stalled calls answered after %u s\n", n, seconds);
        return r;
}

/* ---- noread ---- */

static int mode_noread(int argc, char **argv) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        _cleanup_json_ json_object *params = describe_parameters("org.varlink.service");
        unsigned calls, seconds;
        int r;

        if (parse_unsigned(argv[3], 1, 1000000, &calls) < 0 ||
            parse_unsigned(argv[4], 0, 3600, &seconds) < 0)
                return -EINVAL;
        if (!params)
                return -ENOMEM;
        r = connect_to(argv[2], &client);
        if (r < 0)
                return r;
        /* Our send buffer fills once the service stops reading; that is the point, so a send
         * that cannot go out in time just ends the sending. */
        for (unsigned k = 0; k < calls; k++) {
                r = varlink_client_send(client, METHOD_DESCRIBE, params, 0, USEC_PER_SEC);
                if (r == -ETIMEDOUT)
                        break;
                if (r < 0)
                        return fail("call %u: %s", k, strerror(-r));
        }
        printf("noread: calls sent, not reading for %u s\n", seconds);
        fflush(stdout);
        sleep(seconds);
        return 0;
}

/* ---- more-disconnect ---- */

typedef enum LeaveWay {
        LEAVE_AFTER_FIRST,
        LEAVE_BEFORE_REPLY,
        LEAVE_WITH_QUEUED_CALL,
        LEAVE_AFTER_HALF_CLOSE,
        _LEAVE_WAY_MAX,
} LeaveWay;

static int more_round(const char *address, const char *method, LeaveWay way) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        VarlinkReply reply = {};
        int r;

        r = connect_to(address, &client);
        if (r < 0)
                return r;
        r = varlink_client_send(client, method, NULL, VARLINK_CALL_MORE, STEP_TIMEOUT_USEC);
        if (r >= 0 && way == LEAVE_WITH_QUEUED_CALL)
                r = varlink_client_send(client, METHOD_GET_INFO, NULL, 0, STEP_TIMEOUT_USEC);
        if (r < 0)
                return fail("calling %s: %s", method, strerror(-r));
        if (way == LEAVE_BEFORE_REPLY)
                return 0;
        r = varlink_client_read(client, &reply, STEP_TIMEOUT_USEC);
        if (r < 0)
                return fail("%s: no first reply: %s", method, strerror(-r));
        if (reply.error || !reply.continues)
                r = fail("%s: first reply is not a stream element: %s %s", method,
                         reply.error ? reply.error : "", json_object_to_json_string(reply.parameters));
        varlink_reply_clear(&reply);
        if (r >= 0 && way == LEAVE_AFTER_HALF_CLOSE && shutdown(varlink_client_fd(client), SHUT_WR) < 0)
                r = -errno;
        return r;
}

static int mode_more_disconnect(int argc, char **argv) {
        unsigned count;
        int r;

        if (parse_unsigned(argv[4], 1, 1000000, &count) < 0)
                return -EINVAL;
        for (unsigned i = 0; i < count; i++) {
                r = more_round(argv[2], argv[3], (LeaveWay) (i % _LEAVE_WAY_MAX));
                if (r < 0)
                        return fail("round %u of %u failed", i + 1, count);
        }
        printf("more-disconnect: %u connections left %s mid-stream\n", count, argv[3]);
        return 0;
}

/* ---- main ---- */

typedef struct Mode {
        const char *name;
        int min_args, max_args;      /* after the mode name */
        int (*run)(int argc, char **argv);
        const char *usage;
} Mode;

static const Mode modes[] = {
        { "ordered", 3, 4, mode_ordered, "ordered ADDRESS CONNECTIONS CALLS [SECONDS]" },
        { "stall", 2, 3, mode_stall, "stall ADDRESS SECONDS [PEERS]" },
        { "noread", 3, 3, mode_noread, "noread ADDRESS CALLS SECONDS" },
        { "more-disconnect", 3, 3, mode_more_disconnect, "more-disconnect ADDRESS METHOD COUNT" },
};

static int usage(void) {
        fputs("usage:\n", stderr);
        for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                fprintf(stderr, "  stress-client %s\n", modes[i].usage);
        return 2;
}

int main(int argc, char **argv) {
        int r;

        if (argc < 2)
                return usage();
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                if (strcmp(argv[1], modes[i].name) != 0)
                        continue;
                if (argc - 2 < modes[i].min_args || argc - 2 > modes[i].max_args)
                        return usage();
                r = modes[i].run(argc, argv);
                if (r == -EINVAL) {
                        fprintf(stderr, "stress-client: invalid argument\n");
                        return usage();
                }
                if (r < 0 && r != -EPROTO)
                        fprintf(stderr, "stress-client %s: %s\n", argv[1], strerror(-r));
                return r < 0 ? 1 : 0;
        }
        return usage();
}
