/* Output formatting. Strings are built in memory streams so that callers decide where text
 * goes; nothing here touches stdout or stderr. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "output.h"

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Closes a memory stream and hands out its buffer. */
static int memstream_finish(FILE **f, char **buf, char **ret) {
        int r = ferror(*f) ? -EIO : 0;

        if (fclose(*f) != 0 && r == 0)
                r = NEG_ERRNO();
        *f = NULL;
        if (r < 0) {
                free(*buf);
                *buf = NULL;
                return r;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

int output_json(json_object *value, int flags, char **ret) {
        const char *s;
        char *copy;

        if (!value) {
                copy = strdup("{}");
        } else {
                s = json_object_to_json_string_ext(value, flags);
                if (!s)
                        return -ENOMEM;
                copy = strdup(s);
        }
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static bool string_needs_quotes(const char *s) {
        if (s[0] == '\0')
                return true;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || strchr("\"\\,=", *p))
                        return true;
        return false;
}

int output_flat_value(json_object *value, char **ret) {
        const char *s;
        char *copy;

        if (json_object_is_type(value, json_type_string)) {
                s = json_object_get_string(value);
                if (string_needs_quotes(s))
                        return output_json(value, OUTPUT_JSON_LINE, ret);
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                *ret = copy;
                return 0;
        }
        if (!value) {
                copy = strdup("null");
                if (!copy)
                        return -ENOMEM;
                *ret = copy;
                return 0;
        }
        return output_json(value, OUTPUT_JSON_LINE, ret);
}

static int error_parameters_write(FILE *f, json_object *parameters) {
        const char *separator = ": ";
        _cleanup_free_ char *text = NULL;
        int r;

        if (!parameters)
                return 0;
        if (!json_object_is_type(parameters, json_type_object)) {
                /* Not what the protocol allows, but worth showing rather than hiding. */
                r = output_json(parameters, OUTPUT_JSON_LINE, &text);
                if (r < 0)
                        return r;
                fprintf(f, ": %s", text);
                return 0;
        }
        json_object_object_foreach(parameters, key, value) {
                _cleanup_free_ char *flat = NULL;

                r = output_flat_value(value, &flat);
                if (r < 0)
                        return r;
                fprintf(f, "%s%s=%s", separator, key, flat);
                separator = ", ";
        }
        return 0;
}

int output_error_line(const char *error, json_object *parameters, char **ret) {
        /* buf is declared first so that it is freed after f is closed: closing a memory
         * stream may still (re)allocate the buffer. */
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size;
        int r;

        if (!error)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s: %s", PROGRAM_NAME, error);
        r = error_parameters_write(f, parameters);
        if (r < 0)
                return r;
        return memstream_finish(&f, &buf, ret);
}

int output_error_json(const char *error, json_object *parameters, char **ret) {
        _cleanup_json_ json_object *o = NULL, *name = NULL;

        if (!error)
                return -EINVAL;
        o = json_object_new_object();
        name = json_object_new_string(error);
        if (!o || !name)
                return -ENOMEM;
        if (json_object_object_add(o, "error", TAKE_PTR(name)) < 0)
                return -ENOMEM;
        if (json_object_object_add(o, "parameters",
                                   parameters ? json_object_get(parameters) : json_object_new_object()) < 0)
                return -ENOMEM;
        return output_json(o, OUTPUT_JSON_PRETTY, ret);
}

static const char *info_string(json_object *info, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(info, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int output_info_text(json_object *info, char **ret) {
        static const char *const keys[] = { "vendor", "product", "version", "url" };
        /* buf is declared first so that it is freed after f is closed: closing a memory
         * stream may still (re)allocate the buffer. */
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        json_object *interfaces;
        size_t size;

        if (!json_object_is_type(info, json_type_object))
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!info_string(info, keys[i]))
                        return -EBADMSG;
        if (!json_object_object_get_ex(info, "interfaces", &interfaces) ||
            !json_object_is_type(interfaces, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(interfaces); i++)
                if (!json_object_is_type(json_object_array_get_idx(interfaces, i), json_type_string))
                        return -EBADMSG;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        /* Values line up after the longest label, "interfaces:". */
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                fprintf(f, "%s:%*s%s\n", keys[i], (int) (11 - strlen(keys[i])), "",
                        info_string(info, keys[i]));
        fputs("interfaces:", f);
        if (json_object_array_length(interfaces) == 0)
                fputc('\n', f);
        for (size_t i = 0; i < json_object_array_length(interfaces); i++)
                fprintf(f, "%s%s\n", i == 0 ? " " : "            ",
                        json_object_get_string(json_object_array_get_idx(interfaces, i)));
        return memstream_finish(&f, &buf, ret);
}
