/* Output: the text stage0c prints, built as strings so it can be tested without a terminal.
 * Every function here is pure: it returns a newly allocated string in *ret (without a
 * trailing newline unless said otherwise) or a negative errno, and prints nothing. */
#pragma once

#include <json-c/json.h>

#define PROGRAM_NAME "stage0c"

/* Pretty JSON for people and --json; one compact document per line for streams. Slashes are
 * never escaped. */
#define OUTPUT_JSON_PRETTY \
        (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)
#define OUTPUT_JSON_LINE (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* json-c's serialisation, copied. NULL serialises as "{}": replies always carry an object. */
int output_json(json_object *value, int flags, char **ret);

/* One parameter value for an error line: strings bare unless they need quoting (empty, or
 * containing blanks, control characters, quotes, backslashes, ',' or '='), then as a JSON
 * string; anything else as compact JSON. */
int output_flat_value(json_object *value, char **ret);

/* "stage0c: NAME: key=value, key=value", parameters flattened one level. */
int output_error_line(const char *error, json_object *parameters, char **ret);

/* {"error": NAME, "parameters": {...}}, pretty. */
int output_error_json(const char *error, json_object *parameters, char **ret);

/* GetInfo's reply as readable lines, ending in a newline. -EBADMSG when the reply does not
 * have GetInfo's shape. */
int output_info_text(json_object *info, char **ret);
