/* cert-server: org.varlink.certification served by libstage0's VarlinkServer on sd-event, so
 * that varlink-go-certification --client (or any certification client) can test our server.
 *
 * Each Start makes a client with a random id. Every later call names that client and must be
 * the next step of its sequence, made with the step's flags (Test10 "more", Test11 "oneway"),
 * and given exactly what the step before returned; anything else is answered with
 * CertificationError(wants, got) and marks the client failed. End may come at any time and
 * ends the client: all_ok is true only when every step before it passed, in order (a failed
 * oneway Test11 can only be reported that way). The client table is
 * fixed in size: when it is full, Start forgets the oldest client. The IDL is read at run time
 * from --idl so that the text served is exactly the reference's. Replies are checked against
 * the IDL before they are sent. SIGTERM and SIGINT end the loop and the program exits 0. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cert-common.h"
#include "cleanup.h"
#include "config.h"
#include "varlink-server.h"

#define CERT_CLIENTS_MAX 128u
#define CERT_IDL_SIZE_MAX (1024u * 1024u)
#define CERT_CLIENT_ID_LEN 36u

typedef struct CertClient {
        char id[CERT_CLIENT_ID_LEN + 1];   /* empty when the slot is free */
        CertStep next;                     /* the step this client must call next */
        bool all_ok;
        uint64_t serial;                   /* order of Start, to forget the oldest first */
} CertClient;

typedef struct CertServer {
        CertClient clients[CERT_CLIENTS_MAX];
        uint64_t n_started;
} CertServer;

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkServer *, varlink_server_free);

static int client_id_new(char ret[static CERT_CLIENT_ID_LEN + 1]) {
        uint8_t b[16];
        ssize_t n = getrandom(b, sizeof(b), 0);

        if (n < 0)
                return NEG_ERRNO();
        if ((size_t) n != sizeof(b))
                return -EIO;
        /* A version 4 UUID, like the reference's ids. */
        b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
        b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
        snprintf(ret, CERT_CLIENT_ID_LEN + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return 0;
}

static CertClient *client_slot(CertServer *s) {
        CertClient *oldest = &s->clients[0];

        for (size_t i = 0; i < CERT_CLIENTS_MAX; i++) {
                if (s->clients[i].id[0] == '\0')
                        return &s->clients[i];
                if (s->clients[i].serial < oldest->serial)
                        oldest = &s->clients[i];
        }
        return oldest;
}

static CertClient *client_find(CertServer *s, json_object *parameters) {
        json_object *v;
        const char *id;

        if (!json_object_object_get_ex(parameters, "client_id", &v))
                return NULL;
        id = json_object_get_string(v);
        if (!id || id[0] == '\0')
                return NULL;
        for (size_t i = 0; i < CERT_CLIENTS_MAX; i++)
                if (strcmp(s->clients[i].id, id) == 0)
                        return &s->clients[i];
        return NULL;
}

static int add_bool(json_object *o, const char *key, bool b) {
        json_object *v = json_object_new_boolean(b);

        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(json_object *o, const char *key, const char *s) {
        json_object *v = json_object_new_string(s);

        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int method_object(const char *method, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || add_string(o, "method", method) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int flags_object(bool more, bool oneway, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || add_bool(o, "more", more) < 0 || add_bool(o, "oneway", oneway) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int check_order(const CertClient *c, VarlinkCall *call, CertStep step,
                       json_object **ret_wants, json_object **ret_got) {
        _cleanup_json_ json_object *wants = NULL, *got = NULL;
        char wanted[128];
        int r;

        /* End may come early; it then reports all_ok=false. */
        if (c->next == step || step == CERT_END)
                return 0;
        snprintf(wanted, sizeof(wanted), CERT_INTERFACE ".%s", cert_step_to_string(c->next));
        r = method_object(wanted, &wants);
        if (r < 0)
                return r;
        r = method_object(varlink_call_method(call), &got);
        if (r < 0)
                return r;
        *ret_wants = TAKE_PTR(wants);
        *ret_got = TAKE_PTR(got);
        return 1;
}

static int check_flags(VarlinkCall *call, CertStep step,
                       json_object **ret_wants, json_object **ret_got) {
        _cleanup_json_ json_object *wants = NULL, *got = NULL;
        bool more = varlink_call_wants_more(call), oneway = varlink_call_is_oneway(call);
        int r;

        if (more == cert_step_wants_more(step) && oneway == cert_step_is_oneway(step))
                return 0;
        r = flags_object(cert_step_wants_more(step), cert_step_is_oneway(step), &wants);
        if (r < 0)
                return r;
        r = flags_object(more, oneway, &got);
        if (r < 0)
                return r;
        *ret_wants = TAKE_PTR(wants);
        *ret_got = TAKE_PTR(got);
        return 1;
}

static int check_input(json_object *parameters, CertStep step,
                       json_object **ret_wants, json_object **ret_got) {
        _cleanup_json_ json_object *wants = NULL, *got = NULL;
        int r;

        r = cert_step_input(step, &wants);
        if (r < 0)
                return r;
        if (json_object_deep_copy(parameters, &got, NULL) < 0)
                return -ENOMEM;
        json_object_object_del(got, "client_id");
        if (cert_json_equal(wants, got))
                return 0;
        *ret_wants = TAKE_PTR(wants);
        *ret_got = TAKE_PTR(got);
        return 1;
}

/* 0 when the call is the client's next step, made as it should be; 1 with what was wanted
 * and what came when it is not. */
static int check_call(const CertClient *c, VarlinkCall *call, CertStep step,
                      json_object *parameters, json_object **ret_wants, json_object **ret_got) {
        int r;

        r = check_order(c, call, step, ret_wants, ret_got);
        if (r != 0)
                return r;
        r = check_flags(call, step, ret_wants, ret_got);
        if (r != 0)
                return r;
        return check_input(parameters, step, ret_wants, ret_got);
}

static int certification_error(CertClient *c, VarlinkCall *call, json_object *wants,
                               json_object *got) {
        _cleanup_json_ json_object *w = wants, *g = got;
        _cleanup_json_ json_object *p = json_object_new_object();
        int r;

        c->all_ok = false;
        fprintf(stderr, "cert-server: client %s: %s: wants %s, got %s\n", c->id,
                varlink_call_method(call), cert_json_text(w), cert_json_text(g));
        if (!p || json_object_object_add(p, "wants", w) < 0)
                return -ENOMEM;
        w = NULL;
        if (json_object_object_add(p, "got", g) < 0)
                return -ENOMEM;
        g = NULL;
        r = varlink_call_error(call, CERT_INTERFACE ".CertificationError", TAKE_PTR(p));
        if (r < 0)
                fprintf(stderr, "cert-server: sending CertificationError failed: %s\n",
                        strerror(-r));
        return r;
}

static int reply_logged(VarlinkCall *call, json_object *parameters, bool final) {
        int r = final ? varlink_call_reply(call, parameters) : varlink_call_notify(call, parameters);

        if (r < 0)
                fprintf(stderr, "cert-server: %s: %s failed: %s\n", varlink_call_method(call),
                        final ? "reply" : "notify", strerror(-r));
        return r;
}

static int answer_more(VarlinkCall *call) {
        for (unsigned i = 1; i <= CERT_MORE_REPLIES; i++) {
                json_object *reply;
                int r;

                r = cert_more_reply(i, &reply);
                if (r < 0)
                        return r;
                r = reply_logged(call, reply, i == CERT_MORE_REPLIES);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int answer_end(CertClient *c, VarlinkCall *call) {
        json_object *reply = json_object_new_object();
        bool all_ok = c->all_ok && c->next == CERT_END;

        if (!reply || add_bool(reply, "all_ok", all_ok) < 0) {
                json_object_put(reply);
                return -ENOMEM;
        }
        fprintf(stderr, "cert-server: client %s: End: all_ok=%s\n", c->id,
                all_ok ? "true" : "false");
        *c = (CertClient) {};
        return reply_logged(call, reply, true);
}

/* The step passed its checks: send what it returns. */
static int answer(CertClient *c, VarlinkCall *call, CertStep step) {
        json_object *reply;
        int r;

        switch (step) {
        case CERT_TEST10:
                return answer_more(call);
        case CERT_TEST11:
                /* Oneway: nothing goes on the wire, this only ends the call. */
                return reply_logged(call, NULL, true);
        case CERT_END:
                return answer_end(c, call);
        default:
                r = cert_step_reply(step, &reply);
                if (r < 0)
                        return r;
                return reply_logged(call, reply, true);
        }
}

static int method_start(CertServer *s, VarlinkCall *call) {
        CertClient *c = client_slot(s);
        json_object *reply;
        int r;

        r = client_id_new(c->id);
        if (r < 0)
                return r;
        c->next = CERT_TEST01;
        c->all_ok = true;
        c->serial = ++s->n_started;

        reply = json_object_new_object();
        if (!reply || add_string(reply, "client_id", c->id) < 0) {
                json_object_put(reply);
                return -ENOMEM;
        }
        return reply_logged(call, reply, true);
}

static CertStep step_of_call(VarlinkCall *call) {
        const char *method = varlink_call_method(call);
        const char *dot = method ? strrchr(method, '.') : NULL;

        return cert_step_from_string(dot ? dot + 1 : method);
}

static int method_certification(VarlinkCall *call, json_object *parameters, void *userdata) {
        _cleanup_json_ json_object *wants = NULL, *got = NULL;
        CertServer *s = userdata;
        CertStep step = step_of_call(call);
        CertClient *c;
        int r;

        if (step < 0)
                return -EINVAL; /* we bind only the methods of the sequence */
        if (step == CERT_START)
                return method_start(s, call);

        c = client_find(s, parameters);
        if (!c)
                return varlink_call_error(call, CERT_INTERFACE ".ClientIdError", NULL);

        r = check_call(c, call, step, parameters, &wants, &got);
        if (r < 0)
                return r;
        if (r > 0)
                return certification_error(c, call, TAKE_PTR(wants), TAKE_PTR(got));
        if (step != CERT_END)
                c->next = step + 1;
        return answer(c, call, step);
}

static int read_idl(const char *path, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t n = 0;

        if (fd < 0 || fstat(fd, &st) < 0)
                return NEG_ERRNO();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > CERT_IDL_SIZE_MAX)
                return -EFBIG;
        text = malloc((size_t) st.st_size + 1);
        if (!text)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, text + n, (size_t) st.st_size - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return NEG_ERRNO();
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        text[n] = '\0';
        if (strlen(text) != n)
                return -EBADMSG; /* a NUL byte inside the text */
        *ret = TAKE_PTR(text);
        return 0;
}

static int bind_all(VarlinkServer *server, CertServer *s) {
        for (CertStep i = 0; i < _CERT_STEP_MAX; i++) {
                char method[128];
                int r;

                snprintf(method, sizeof(method), CERT_INTERFACE ".%s", cert_step_to_string(i));
                r = varlink_server_bind(server, method, method_certification, 0, s);
                if (r < 0) {
                        fprintf(stderr, "cert-server: binding %s: %s\n", method, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static int serve(const char *address, const char *idl_text) {
        static CertServer state;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(varlink_server_freep) VarlinkServer *server = NULL;
        const VarlinkServerInfo info = {
                .vendor = "stage0",
                .product = "stage0 varlink certification",
                .version = STAGE0_VERSION,
                .url = STAGE0_URL,
        };
        VarlinkIdlError idl_error = {};
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return r;
        /* No handler: the signal ends the loop. */
        r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return r;
        r = varlink_server_new(&server, event, &info, NULL);
        if (r < 0)
                return r;
        r = varlink_server_add_interface(server, idl_text, &idl_error);
        if (r < 0) {
                fprintf(stderr, "cert-server: IDL %u:%u: %s\n", idl_error.line, idl_error.column,
                        idl_error.message);
                return r;
        }
        r = bind_all(server, &state);
        if (r < 0)
                return r;
        varlink_server_set_check_replies(server, true);
        r = varlink_server_listen_address(server, address, 0600);
        if (r < 0) {
                fprintf(stderr, "cert-server: listening on %s: %s\n", address, strerror(-r));
                return r;
        }
        return sd_event_loop(event);
}

static void usage(FILE *f) {
        fprintf(f, "Usage: cert-server --varlink unix:/path --idl org.varlink.certification.varlink\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "varlink", required_argument, NULL, 'v' },
                { "idl", required_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *address = NULL, *idl_path = NULL;
        _cleanup_free_ char *idl_text = NULL;
        sigset_t mask;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'v':
                        address = optarg;
                        break;
                case 'i':
                        idl_path = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (!address || !idl_path || optind != argc) {
                usage(stderr);
                return 2;
        }

        r = read_idl(idl_path, &idl_text);
        if (r < 0) {
                fprintf(stderr, "cert-server: reading %s: %s\n", idl_path, strerror(-r));
                return EXIT_FAILURE;
        }

        /* sd-event takes signals through a signalfd, which needs them blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                fprintf(stderr, "cert-server: sigprocmask: %m\n");
                return EXIT_FAILURE;
        }

        r = serve(address, idl_text);
        if (r < 0) {
                fprintf(stderr, "cert-server: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
