/* Options: stage0c's command line, parsed without side effects. Global options may stand
 * before or after the command name; each command declares its own flags and how many
 * positional arguments it takes, so a new command needs no change here. The parser prints
 * nothing: it returns 0 or a negative errno and explains a refusal in a caller's buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define OPTIONS_TIMEOUT_DEFAULT_SEC 45
/* Longer than any sensible wait; bounds the conversion to microseconds. */
#define OPTIONS_TIMEOUT_MAX_SEC (365.0 * 24 * 3600)
#define OPTIONS_COMMAND_FLAGS_MAX 16
/* Parameters given on stdin are bounded like a varlink message. */
#define OPTIONS_JSON_SIZE_MAX (16U * 1024U * 1024U)

typedef struct CommandFlag {
        const char *name;       /* with the dashes: "--more" */
        bool has_value;
} CommandFlag;

/* One command flag as given; a flag given again is kept again. */
typedef struct OptionsFlagValue {
        size_t flag;            /* index into command->flags */
        const char *value;
} OptionsFlagValue;

/* What options_parse needs to know about a command. */
typedef struct CommandSyntax {
        const char *name;
        const char *usage;      /* the arguments, as --help shows them */
        const CommandFlag *flags;
        size_t n_flags;
        size_t n_args_min;
        size_t n_args_max;
        /* The command reads its own flags (rkt's per-image flags, order-sensitive): every
         * argument after its name goes to args as given, "--" and global options included. */
        bool raw_args;
} CommandSyntax;

typedef const CommandSyntax *(*CommandLookup)(const char *name);

typedef struct Options {
        const char *socket;     /* borrowed from argv, the environment or a literal */
        bool json;
        bool help;
        bool version;
        uint64_t timeout_usec;
        const CommandSyntax *command;   /* NULL only with help or version */
        char **args;            /* the command's positional arguments, borrowed strings */
        size_t n_args;
        /* Parallel to command->flags: the value given, "" for a flag without a value, or NULL
         * when absent. */
        const char *flag_values[OPTIONS_COMMAND_FLAGS_MAX];
        /* Every command flag given, in command-line order: options_flag_nth reads a flag
         * that may be repeated. Owned array. */
        OptionsFlagValue *repeats;
        size_t n_repeats;
} Options;

/* env_socket is $STAGE0_SOCKET or NULL. On success *ret owns an array; free it with
 * options_done(). -EINVAL for a usage error, -ENOMEM. */
int options_parse(Options *ret, int argc, char *const *argv, const char *env_socket,
                  CommandLookup lookup, char *error, size_t error_size);
void options_done(Options *options);

/* The value of a command flag (the last one given), "" for a set boolean flag, NULL when absent or unknown. */
const char *options_flag(const Options *options, const char *name);
/* For a flag that may be given more than once (where options_flag sees the last): how many
 * times it was given, and the i-th value in command-line order (NULL past the end). */
size_t options_flag_count(const Options *options, const char *name);
const char *options_flag_nth(const Options *options, const char *name, size_t i);

/* Parses SECONDS (decimal, fraction allowed, > 0) into microseconds; "infinity" waits
 * forever, for streams that may stay quiet. */
int options_parse_timeout(const char *s, uint64_t *ret);
/* Formats a message for the user into error (error_size bytes, may be NULL) and returns
 * -EINVAL: what a parser of user input says when it refuses it. */
int options_error(char *error, size_t error_size, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* Parses text that must be exactly one JSON object. -EINVAL with json-c's reason otherwise. */
int options_parse_json_object(const char *text, json_object **ret, char *error,
                              size_t error_size);
