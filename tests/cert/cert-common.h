/* The org.varlink.certification sequence, shared by cert-server and cert-client: the order of
 * the steps, the value each step returns and so the value the next step must be given, and a
 * JSON comparison that treats values as the wire does (1 equals 1.0, an absent field equals
 * null). Both programs take their expectations from here, so they cannot drift apart; the
 * values themselves are those of the reference implementation, varlink-go-certification. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <json-c/json.h>

#define CERT_INTERFACE "org.varlink.certification"
/* Test10 answers with this many replies, the last one without "continues". */
#define CERT_MORE_REPLIES 10u

typedef enum CertStep {
        CERT_START,
        CERT_TEST01,
        CERT_TEST02,
        CERT_TEST03,
        CERT_TEST04,
        CERT_TEST05,
        CERT_TEST06,
        CERT_TEST07,
        CERT_TEST08,
        CERT_TEST09,
        CERT_TEST10,
        CERT_TEST11,
        CERT_END,
        _CERT_STEP_MAX,
        _CERT_STEP_INVALID = -EINVAL,
} CertStep;

/* "Start", "Test01", ... "End": the member name, without the interface. */
const char *cert_step_to_string(CertStep s);
CertStep cert_step_from_string(const char *s);

/* The call flags a step must be made with: Test10 with "more", Test11 "oneway", others none. */
bool cert_step_wants_more(CertStep s);
bool cert_step_is_oneway(CertStep s);

/* The single reply of Test01..Test09, freshly built: -EINVAL for the other steps, whose
 * replies depend on the run (Start, End) or are not single (Test10, Test11). */
int cert_step_reply(CertStep s, json_object **ret);
/* Reply number i (1-based) of Test10. */
int cert_more_reply(unsigned i, json_object **ret);
/* What step s must be called with, without its client_id: the reply of the step before it
 * (for Test11 the strings of the Test10 replies in order; for Start, Test01 and End
 * nothing). */
int cert_step_input(CertStep s, json_object **ret);

/* Deep equality as a varlink peer sees it: numbers compare by value whatever their JSON type,
 * an object member that is absent equals one that is null, and NULL equals JSON null. */
bool cert_json_equal(json_object *a, json_object *b);

/* The text of a JSON value for messages, in static storage of its object; "null" for NULL. */
const char *cert_json_text(json_object *o);
