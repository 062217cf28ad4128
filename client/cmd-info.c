/* info and introspect: what the service says about itself (org.varlink.service). */
#include <stdio.h>

#include "cleanup.h"
#include "command.h"
#include "output.h"

#define METHOD_GET_INFO "org.varlink.service.GetInfo"
#define METHOD_GET_DESCRIPTION "org.varlink.service.GetInterfaceDescription"

DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

static ExitStatus print_json(json_object *value, int flags) {
        _cleanup_free_ char *text = NULL;

        if (output_json(value, flags, &text) < 0) {
                fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
                return EXIT_STATUS_CONNECTION;
        }
        command_print(text);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus info_run(const Options *options) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        _cleanup_free_ char *text = NULL;
        ExitStatus status;
        int r;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        status = command_call_simple(options, client, METHOD_GET_INFO, NULL, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters, OUTPUT_JSON_PRETTY);

        r = output_info_text(reply.parameters, &text);
        if (r < 0)
                return command_report(options, METHOD_GET_INFO, r, NULL);
        fputs(text, stdout);
        return EXIT_STATUS_SUCCESS;
}

const Command command_info = {
        .syntax = {
                .name = "info",
                .usage = "",
        },
        .summary = "Show the service's vendor, product, version, URL and interfaces",
        .run = info_run,
};

/* The description of one interface; *ret borrows from reply. */
static ExitStatus description_get(const Options *options, VarlinkClient *client,
                                  const char *interface, VarlinkReply *reply, const char **ret) {
        _cleanup_json_ json_object *parameters = json_object_new_object();
        json_object *description;
        ExitStatus status;

        if (!parameters ||
            json_object_object_add(parameters, "interface", json_object_new_string(interface)) < 0) {
                fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
                return EXIT_STATUS_CONNECTION;
        }
        status = command_call_simple(options, client, METHOD_GET_DESCRIPTION, parameters, reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (!json_object_object_get_ex(reply->parameters, "description", &description) ||
            !json_object_is_type(description, json_type_string))
                return command_report(options, METHOD_GET_DESCRIPTION, -EBADMSG, NULL);
        *ret = json_object_get_string(description);
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus introspect_one(const Options *options, VarlinkClient *client,
                                 const char *interface, bool first) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        const char *description;
        ExitStatus status;

        status = description_get(options, client, interface, &reply, &description);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (options->json)
                return print_json(reply.parameters, OUTPUT_JSON_PRETTY);
        if (!first)
                fputc('\n', stdout);
        command_print(description);
        return EXIT_STATUS_SUCCESS;
}

/* With --json, the descriptions of all interfaces as one object keyed by interface name. */
static ExitStatus introspect_all_json(const Options *options, VarlinkClient *client,
                                      json_object *interfaces) {
        _cleanup_json_ json_object *all = json_object_new_object();

        if (!all) {
                fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
                return EXIT_STATUS_CONNECTION;
        }
        for (size_t i = 0; i < json_object_array_length(interfaces); i++) {
                _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
                const char *name = json_object_get_string(json_object_array_get_idx(interfaces, i));
                const char *description;
                ExitStatus status;

                status = description_get(options, client, name, &reply, &description);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
                if (json_object_object_add(all, name, json_object_new_string(description)) < 0) {
                        fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
                        return EXIT_STATUS_CONNECTION;
                }
        }
        return print_json(all, OUTPUT_JSON_PRETTY);
}

static ExitStatus introspect_all(const Options *options, VarlinkClient *client) {
        _cleanup_(varlink_reply_clear) VarlinkReply reply = {};
        json_object *interfaces;
        ExitStatus status;
        size_t n;

        status = command_call_simple(options, client, METHOD_GET_INFO, NULL, &reply);
        if (status != EXIT_STATUS_SUCCESS)
                return status;
        if (!json_object_object_get_ex(reply.parameters, "interfaces", &interfaces) ||
            !json_object_is_type(interfaces, json_type_array))
                return command_report(options, METHOD_GET_INFO, -EBADMSG, NULL);
        n = json_object_array_length(interfaces);
        for (size_t i = 0; i < n; i++)
                if (!json_object_is_type(json_object_array_get_idx(interfaces, i), json_type_string))
                        return command_report(options, METHOD_GET_INFO, -EBADMSG, NULL);

        if (options->json)
                return introspect_all_json(options, client, interfaces);
        for (size_t i = 0; i < n; i++) {
                const char *name = json_object_get_string(json_object_array_get_idx(interfaces, i));

                status = introspect_one(options, client, name, i == 0);
                if (status != EXIT_STATUS_SUCCESS)
                        return status;
        }
        return EXIT_STATUS_SUCCESS;
}

static ExitStatus introspect_run(const Options *options) {
        _cleanup_(varlink_client_freep) VarlinkClient *client = NULL;

        if (command_connect(options, &client) < 0)
                return EXIT_STATUS_CONNECTION;
        if (options->n_args > 0)
                return introspect_one(options, client, options->args[0], true);
        return introspect_all(options, client);
}

const Command command_introspect = {
        .syntax = {
                .name = "introspect",
                .usage = "[INTERFACE]",
                .n_args_max = 1,
        },
        .summary = "Print the interface description of INTERFACE, or of every interface\n"
                   "separated by blank lines (--json: an object of name to description)",
        .run = introspect_run,
};
