/* cert-client: the org.varlink.certification sequence run with libstage0's VarlinkClient
 * against any certification server (varlink-go-certification, or our cert-server).
 *
 * Start, then Test01..Test09 each given what the one before returned, Test10 with "more"
 * (every reply collected), Test11 oneway with the collected strings, then End. Every reply is
 * compared with the value the reference returns, and with --idl also checked against the
 * interface. Because Test11 is oneway, a server that wrongly answers it is caught at End, whose
 * reply would then be Test11's. One line per step goes to stdout, the last `End: 'true'`; the
 * first failure is printed with what was expected and what came, and the exit code is 1. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cert-common.h"
#include "cleanup.h"
#include "varlink-client.h"
#include "varlink-idl.h"

#define CERT_TIMEOUT_USEC (10ULL * 1000000ULL)
#define CERT_IDL_SIZE_MAX (1024u * 1024u)

typedef struct CertRun {
        VarlinkClient *client;
        VarlinkInterface *iface;      /* when set, every reply is validated against it */
        char *client_id;
        json_object *last;            /* the previous step's reply: the next step's input */
        json_object *more_replies;    /* the strings of Test10's replies, in order */
} CertRun;

static void cert_run_done(CertRun *run) {
        varlink_client_free(run->client);
        varlink_interface_free(run->iface);
        free(run->client_id);
        json_object_put(run->last);
        json_object_put(run->more_replies);
}

/* Prints the reason of a failed step and returns -EPROTO, for `return fail(...)`. */
__attribute__((format(printf, 2, 3)))
static int fail(CertStep step, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "cert-client: %s: ", cert_step_to_string(step));
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EPROTO;
}

static int read_idl(const char *path, VarlinkInterface **ret) {
        _cleanup_free_ char *text = NULL;
        VarlinkIdlError error = {};
        FILE *f = fopen(path, "re");
        size_t n;
        int r;

        if (!f)
                return NEG_ERRNO();
        text = malloc(CERT_IDL_SIZE_MAX + 1);
        if (!text) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(text, 1, CERT_IDL_SIZE_MAX + 1, f);
        r = ferror(f) ? -EIO : 0;
        fclose(f);
        if (r < 0)
                return r;
        if (n > CERT_IDL_SIZE_MAX)
                return -EFBIG;
        text[n] = '\0';
        if (strlen(text) != n)
                return -EBADMSG;
        r = varlink_interface_parse(ret, text, &error);
        if (r < 0)
                fprintf(stderr, "cert-client: %s:%u:%u: %s\n", path, error.line, error.column,
                        error.message);
        return r;
}

static int method_name(CertStep step, char *buf, size_t size) {
        int n = snprintf(buf, size, CERT_INTERFACE ".%s", cert_step_to_string(step));

        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* The parameters of a call: input (borrowed, may be NULL) plus our client_id. */
static int call_parameters(const CertRun *run, json_object *input, json_object **ret) {
        _cleanup_json_ json_object *p = NULL;
        json_object *id;

        if (input) {
                if (json_object_deep_copy(input, &p, NULL) < 0)
                        return -ENOMEM;
        } else
                p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        if (run->client_id) {
                id = json_object_new_string(run->client_id);
                if (!id || json_object_object_add(p, "client_id", id) < 0) {
                        json_object_put(id);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int send_step(CertRun *run, CertStep step, json_object *input, unsigned flags) {
        _cleanup_json_ json_object *p = NULL;
        char method[128];
        int r;

        r = method_name(step, method, sizeof(method));
        if (r < 0)
                return r;
        r = call_parameters(run, input, &p);
        if (r < 0)
                return r;
        r = varlink_client_send(run->client, method, p, flags, CERT_TIMEOUT_USEC);
        if (r < 0)
                return fail(step, "sending the call failed: %s", strerror(-r));
        return 0;
}

/* A reply must be no error, validate against the method's output when we have the IDL, and
 * carry "continues" exactly when more replies are due. */
static int check_reply_shape(const CertRun *run, CertStep step, const VarlinkReply *reply,
                             bool continues) {
        const VarlinkMember *m;
        _cleanup_free_ char *path = NULL;

        if (reply->error)
                return fail(step, "the service answered the error %s %s", reply->error,
                            cert_json_text(reply->parameters));
        if (reply->continues != continues)
                return fail(step, "reply has continues=%s, expected %s",
                            reply->continues ? "true" : "false", continues ? "true" : "false");
        if (!run->iface)
                return 0;
        m = varlink_interface_find_method(run->iface, cert_step_to_string(step));
        if (!m)
                return fail(step, "the IDL has no such method");
        if (varlink_interface_validate(run->iface, m->output, reply->parameters, &path) < 0)
                return fail(step, "reply %s does not match the IDL at '%s'",
                            cert_json_text(reply->parameters), path ? path : "?");
        return 0;
}

static int read_reply(CertRun *run, CertStep step, VarlinkReply *ret) {
        int r = varlink_client_read(run->client, ret, CERT_TIMEOUT_USEC);

        if (r < 0)
                return fail(step, "reading the reply failed: %s", strerror(-r));
        return 0;
}

static int check_value(CertStep step, json_object *got, json_object *wants) {
        if (cert_json_equal(wants, got))
                return 0;
        return fail(step, "got %s, expected %s", cert_json_text(got), cert_json_text(wants));
}

static int run_start(CertRun *run) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        json_object *id;
        int r;

        r = send_step(run, CERT_START, NULL, 0);
        if (r < 0)
                return r;
        r = read_reply(run, CERT_START, &reply);
        if (r < 0)
                return r;
        r = check_reply_shape(run, CERT_START, &reply, false);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(reply.parameters, "client_id", &id) ||
            !json_object_is_type(id, json_type_string) || json_object_get_string_len(id) == 0)
                return fail(CERT_START, "reply %s has no client_id string",
                            cert_json_text(reply.parameters));
        run->client_id = strdup(json_object_get_string(id));
        if (!run->client_id)
                return -ENOMEM;
        printf("Start: '%s'\n", run->client_id);
        return 0;
}

/* Test01..Test09: each is given the reply of the one before, as it came. */
static int run_chained(CertRun *run, CertStep step) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *wants = NULL;
        int r;

        r = send_step(run, step, run->last, 0);
        if (r < 0)
                return r;
        r = read_reply(run, step, &reply);
        if (r < 0)
                return r;
        r = check_reply_shape(run, step, &reply, false);
        if (r < 0)
                return r;
        r = cert_step_reply(step, &wants);
        if (r < 0)
                return r;
        r = check_value(step, reply.parameters, wants);
        if (r < 0)
                return r;
        printf("%s: %s\n", cert_step_to_string(step), cert_json_text(reply.parameters));
        json_object_put(run->last);
        run->last = TAKE_PTR(reply.parameters);
        return 0;
}

/* Reply number i of Test10: checked, and its string kept for Test11. */
static int collect_more_reply(CertRun *run, unsigned i) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *wants = NULL;
        json_object *s;
        int r;

        r = read_reply(run, CERT_TEST10, &reply);
        if (r < 0)
                return r;
        r = check_reply_shape(run, CERT_TEST10, &reply, i < CERT_MORE_REPLIES);
        if (r < 0)
                return r;
        r = cert_more_reply(i, &wants);
        if (r < 0)
                return r;
        r = check_value(CERT_TEST10, reply.parameters, wants);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(reply.parameters, "string", &s))
                return -EPROTO; /* cannot happen: it equals wants */
        printf("  Receive: '%s'\n", json_object_get_string(s));
        if (json_object_array_add(run->more_replies, json_object_get(s)) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int run_more(CertRun *run) {
        int r;

        run->more_replies = json_object_new_array();
        if (!run->more_replies)
                return -ENOMEM;
        r = send_step(run, CERT_TEST10, run->last, VARLINK_CALL_MORE);
        if (r < 0)
                return r;
        for (unsigned i = 1; i <= CERT_MORE_REPLIES; i++) {
                r = collect_more_reply(run, i);
                if (r < 0)
                        return r;
        }
        printf("Test10: %s\n", cert_json_text(run->more_replies));
        return 0;
}

static int run_oneway(CertRun *run) {
        _cleanup_json_ json_object *input = json_object_new_object();
        int r;

        if (!input)
                return -ENOMEM;
        if (json_object_object_add(input, "last_more_replies",
                                   json_object_get(run->more_replies)) < 0) {
                json_object_put(run->more_replies);
                return -ENOMEM;
        }
        r = send_step(run, CERT_TEST11, input, VARLINK_CALL_ONEWAY);
        if (r < 0)
                return r;
        printf("Test11: ''\n");
        return 0;
}

static int run_end(CertRun *run) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_json_ json_object *wants = json_tokener_parse("{\"all_ok\": true}");
        int r;

        if (!wants)
                return -ENOMEM;
        r = send_step(run, CERT_END, NULL, 0);
        if (r < 0)
                return r;
        r = read_reply(run, CERT_END, &reply);
        if (r < 0)
                return r;
        r = check_reply_shape(run, CERT_END, &reply, false);
        if (r < 0)
                return r;
        r = check_value(CERT_END, reply.parameters, wants);
        if (r < 0)
                return r;
        printf("End: 'true'\n");
        return 0;
}

static int run_sequence(CertRun *run) {
        int r;

        r = run_start(run);
        for (CertStep s = CERT_TEST01; r >= 0 && s <= CERT_TEST09; s++)
                r = run_chained(run, s);
        if (r >= 0)
                r = run_more(run);
        if (r >= 0)
                r = run_oneway(run);
        if (r >= 0)
                r = run_end(run);
        return r;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: cert-client [--idl org.varlink.certification.varlink] unix:/path\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "idl", required_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(cert_run_done) CertRun run = {};
        const char *idl_path = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
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
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }

        if (idl_path) {
                r = read_idl(idl_path, &run.iface);
                if (r < 0) {
                        fprintf(stderr, "cert-client: reading %s: %s\n", idl_path, strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        r = varlink_client_connect(&run.client, argv[optind]);
        if (r < 0) {
                fprintf(stderr, "cert-client: connecting to %s: %s\n", argv[optind], strerror(-r));
                return EXIT_FAILURE;
        }

        r = run_sequence(&run);
        fflush(stdout);
        if (r == -EPROTO)
                return EXIT_FAILURE; /* already said why */
        if (r < 0) {
                fprintf(stderr, "cert-client: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
