/* The varlink call and reply objects: parsing what a peer sent and building what we send.
 * Unknown top-level keys are ignored on input and never produced on output; "parameters" is
 * always sent as an object, never null. */
#pragma once

#include <stdbool.h>
#include <json-c/json.h>

typedef struct VarlinkCallMessage {
        const char *method;       /* borrowed from the message object */
        json_object *parameters;  /* borrowed; NULL when absent or null */
        bool more;
        bool oneway;
        bool upgrade;
} VarlinkCallMessage;

/* -EBADMSG when "method" is not a string, "parameters" not an object or null, or a flag not
 * a boolean. */
int varlink_message_parse_call(json_object *message, VarlinkCallMessage *ret);
/* parameters is borrowed (a reference is taken); NULL sends {}. */
json_object *varlink_message_new_call(const char *method, json_object *parameters, bool more,
                                      bool oneway);

/* parameters is taken over; NULL sends {}. error NULL for a plain reply. */
json_object *varlink_message_new_reply(json_object *parameters, const char *error,
                                       bool continues);

/* Splits a reply. On success *ret_parameters holds a new reference (never NULL; an absent or
 * null "parameters" gives {}), *ret_error a borrowed string or NULL. -EBADMSG when a field has
 * the wrong type or an error also says "continues". */
int varlink_message_parse_reply(json_object *message, json_object **ret_parameters,
                                const char **ret_error, bool *ret_continues);
