/* Options parsing. One pass over argv: global options are recognised anywhere, the first
 * positional argument names the command, and from then on the command's own flags and
 * positional arguments are collected. "--" ends option processing. Strings in the result
 * are borrowed from argv or the environment, which outlive the program's use of them. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "options.h"
#include "varlink-client.h"

typedef enum GlobalOption {
        GLOBAL_SOCKET,
        GLOBAL_JSON,
        GLOBAL_TIMEOUT,
        GLOBAL_HELP,
        GLOBAL_VERSION,
        _GLOBAL_MAX,
        _GLOBAL_INVALID = -EINVAL,
} GlobalOption;

static const CommandFlag global_options[_GLOBAL_MAX] = {
        [GLOBAL_SOCKET] = { "--socket", true },
        [GLOBAL_JSON] = { "--json", false },
        [GLOBAL_TIMEOUT] = { "--timeout", true },
        [GLOBAL_HELP] = { "--help", false },
        [GLOBAL_VERSION] = { "--version", false },
};

int options_error(char *error, size_t error_size, const char *format, ...) {
        va_list ap;

        if (error && error_size > 0) {
                va_start(ap, format);
                vsnprintf(error, error_size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* Index of the flag called name (name_len bytes) in flags, or -1. */
static int flag_find(const CommandFlag *flags, size_t n_flags, const char *name, size_t name_len) {
        for (size_t i = 0; i < n_flags; i++)
                if (strlen(flags[i].name) == name_len && strncmp(flags[i].name, name, name_len) == 0)
                        return (int) i;
        return -1;
}

int options_parse_timeout(const char *s, uint64_t *ret) {
        char *end;
        double seconds;

        if (s && strcmp(s, "infinity") == 0) {
                *ret = VARLINK_TIMEOUT_INFINITY;
                return 0;
        }
        if (!s || !(*s >= '0' && *s <= '9'))
                return -EINVAL;
        errno = 0;
        seconds = strtod(s, &end);
        if (errno != 0 || *end != '\0' || !isfinite(seconds))
                return -EINVAL;
        if (seconds <= 0 || seconds > OPTIONS_TIMEOUT_MAX_SEC)
                return -ERANGE;
        uint64_t usec = (uint64_t) (seconds * 1e6 + 0.5);
        if (usec == 0)
                return -ERANGE;
        *ret = usec;
        return 0;
}

static int global_option_apply(Options *o, GlobalOption id, const char *value, char *error,
                               size_t error_size) {
        switch (id) {
        case GLOBAL_SOCKET:
                if (value[0] == '\0')
                        return options_error(error, error_size, "--socket needs a non-empty address");
                o->socket = value;
                return 0;
        case GLOBAL_JSON:
                o->json = true;
                return 0;
        case GLOBAL_TIMEOUT:
                if (options_parse_timeout(value, &o->timeout_usec) < 0)
                        return options_error(error, error_size,
                                           "--timeout needs a positive number of seconds up to %.0f or \"infinity\", not '%s'",
                                           OPTIONS_TIMEOUT_MAX_SEC, value);
                return 0;
        case GLOBAL_HELP:
                o->help = true;
                return 0;
        case GLOBAL_VERSION:
                o->version = true;
                return 0;
        default:
                return -EINVAL;
        }
}

/* Handles argv[*i], which starts with "-"; may consume argv[*i + 1] as its value. */
static int flag_take(Options *o, int argc, char *const *argv, int *i, char *error,
                     size_t error_size) {
        const char *arg = argv[*i], *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t) (eq - arg) : strlen(arg);
        const CommandFlag *flag;
        int global = -1, local = -1;

        if (strcmp(arg, "-h") == 0)
                return global_option_apply(o, GLOBAL_HELP, "", error, error_size);

        global = flag_find(global_options, _GLOBAL_MAX, arg, name_len);
        if (global < 0 && o->command)
                local = flag_find(o->command->flags, o->command->n_flags, arg, name_len);
        if (global < 0 && local < 0) {
                if (o->command)
                        return options_error(error, error_size, "unknown option '%.*s' for %s",
                                           (int) name_len, arg, o->command->name);
                return options_error(error, error_size,
                                   "unknown option '%.*s' (options of a command go after its name)",
                                   (int) name_len, arg);
        }
        flag = global >= 0 ? &global_options[global] : &o->command->flags[local];

        if (eq && !flag->has_value)
                return options_error(error, error_size, "%s takes no value", flag->name);
        if (eq)
                value = eq + 1;
        else if (flag->has_value) {
                if (*i + 1 >= argc)
                        return options_error(error, error_size, "%s needs a value", flag->name);
                value = argv[++*i];
        } else
                value = "";

        if (global >= 0)
                return global_option_apply(o, (GlobalOption) global, value, error, error_size);
        o->flag_values[local] = value;
        /* The array has room for every argv entry, so this cannot overflow. */
        o->repeats[o->n_repeats++] = (OptionsFlagValue) { (size_t) local, value };
        return 0;
}

static int positional_take(Options *o, const char *arg, CommandLookup lookup, char *error,
                           size_t error_size) {
        if (!o->command) {
                o->command = lookup(arg);
                if (!o->command)
                        return options_error(error, error_size, "unknown command '%s'", arg);
                if (o->command->n_flags > OPTIONS_COMMAND_FLAGS_MAX)
                        return options_error(error, error_size, "command %s declares too many flags",
                                           arg);
                return 0;
        }
        /* The array has room for every argv entry, so this cannot overflow. */
        o->args[o->n_args++] = (char *) arg;
        return 0;
}

static int arguments_check(const Options *o, char *error, size_t error_size) {
        if (o->help || o->version)
                return 0;
        if (!o->command)
                return options_error(error, error_size, "missing command");
        if (o->n_args < o->command->n_args_min)
                return options_error(error, error_size, "missing argument; usage: %s %s",
                                   o->command->name, o->command->usage);
        if (o->n_args > o->command->n_args_max)
                return options_error(error, error_size, "too many arguments; usage: %s %s",
                                   o->command->name, o->command->usage);
        return 0;
}

static bool is_flag(const char *arg) {
        /* A lone "-" is an argument: it names stdin. */
        return arg[0] == '-' && arg[1] != '\0';
}

int options_parse(Options *ret, int argc, char *const *argv, const char *env_socket,
                  CommandLookup lookup, char *error, size_t error_size) {
        Options o = {
                .socket = env_socket && env_socket[0] ? env_socket : "unix:" STAGE0_DEFAULT_SOCKET,
                .timeout_usec = OPTIONS_TIMEOUT_DEFAULT_SEC * 1000000ULL,
        };
        _cleanup_free_ char **args = NULL;
        _cleanup_free_ OptionsFlagValue *repeats = NULL;
        bool options_end = false;
        int r;

        if (argc < 1 || !argv || !lookup)
                return -EINVAL;
        args = calloc((size_t) argc, sizeof(char *));
        repeats = calloc((size_t) argc, sizeof(OptionsFlagValue));
        if (!args || !repeats)
                return -ENOMEM;
        o.args = args;
        o.repeats = repeats;

        for (int i = 1; i < argc; i++) {
                if (o.command && o.command->raw_args)
                        r = positional_take(&o, argv[i], lookup, error, error_size);
                else if (!options_end && strcmp(argv[i], "--") == 0)
                        options_end = true;
                else if (!options_end && is_flag(argv[i]))
                        r = flag_take(&o, argc, argv, &i, error, error_size);
                else
                        r = positional_take(&o, argv[i], lookup, error, error_size);
                if (r < 0)
                        return r;
        }

        r = arguments_check(&o, error, error_size);
        if (r < 0)
                return r;

        args = NULL;
        repeats = NULL;
        *ret = o;
        return 0;
}

void options_done(Options *options) {
        if (!options)
                return;
        free(options->args);
        options->args = NULL;
        options->n_args = 0;
        free(options->repeats);
        options->repeats = NULL;
        options->n_repeats = 0;
}

const char *options_flag(const Options *options, const char *name) {
        if (!options->command)
                return NULL;
        int i = flag_find(options->command->flags, options->command->n_flags, name, strlen(name));
        return i < 0 ? NULL : options->flag_values[i];
}

size_t options_flag_count(const Options *options, const char *name) {
        size_t n = 0;

        while (options_flag_nth(options, name, n))
                n++;
        return n;
}

const char *options_flag_nth(const Options *options, const char *name, size_t i) {
        if (!options->command)
                return NULL;
        int f = flag_find(options->command->flags, options->command->n_flags, name, strlen(name));
        if (f < 0)
                return NULL;
        for (size_t k = 0; k < options->n_repeats; k++)
                if (options->repeats[k].flag == (size_t) f && i-- == 0)
                        return options->repeats[k].value;
        return NULL;
}

int options_parse_json_object(const char *text, json_object **ret, char *error,
                              size_t error_size) {
        _cleanup_json_ json_object *o = NULL;
        json_tokener *tok;
        enum json_tokener_error jerr;
        size_t len = strlen(text), end;

        if (len > OPTIONS_JSON_SIZE_MAX)
                return options_error(error, error_size, "invalid JSON: longer than %u bytes",
                                   OPTIONS_JSON_SIZE_MAX);
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        /* Passing the terminating NUL tells json-c the input ends here. */
        o = json_tokener_parse_ex(tok, text, (int) len + 1);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue)
                return options_error(error, error_size, "invalid JSON: unexpected end of input");
        if (jerr != json_tokener_success)
                return options_error(error, error_size, "invalid JSON at offset %zu: %s",
                                   end > len ? len : end, json_tokener_error_desc(jerr));
        for (; end < len; end++)
                if (!strchr(" \t\r\n", text[end]))
                        return options_error(error, error_size,
                                           "invalid JSON at offset %zu: trailing data after the object", end);
        /* A literal null parses successfully into NULL. */
        if (!json_object_is_type(o, json_type_object))
                return options_error(error, error_size, "parameters must be a JSON object, not %s",
                                   json_type_to_name(json_object_get_type(o)));
        *ret = TAKE_PTR(o);
        return 0;
}
