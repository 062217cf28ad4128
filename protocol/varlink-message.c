/* Varlink call and reply objects; see varlink-message.h. */
#include <errno.h>

#include "cleanup.h"
#include "varlink-message.h"

static int get_flag(json_object *message, const char *key, bool *ret) {
        json_object *v;

        *ret = false;
        if (!json_object_object_get_ex(message, key, &v) || !v)
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return -EBADMSG;
        *ret = json_object_get_boolean(v);
        return 0;
}

static int get_parameters(json_object *message, json_object **ret) {
        json_object *v = NULL;

        if (json_object_object_get_ex(message, "parameters", &v) && v &&
            !json_object_is_type(v, json_type_object))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int varlink_message_parse_call(json_object *message, VarlinkCallMessage *ret) {
        json_object *m;
        VarlinkCallMessage c = {};
        int r;

        if (!json_object_object_get_ex(message, "method", &m) ||
            !json_object_is_type(m, json_type_string))
                return -EBADMSG;
        c.method = json_object_get_string(m);
        if ((r = get_parameters(message, &c.parameters)) < 0 ||
            (r = get_flag(message, "more", &c.more)) < 0 ||
            (r = get_flag(message, "oneway", &c.oneway)) < 0 ||
            (r = get_flag(message, "upgrade", &c.upgrade)) < 0)
                return r;
        *ret = c;
        return 0;
}

json_object *varlink_message_new_call(const char *method, json_object *parameters, bool more,
                                      bool oneway) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *p = parameters ? json_object_get(parameters) : json_object_new_object();

        if (!o || !p || json_object_object_add(o, "method", json_object_new_string(method)) < 0 ||
            json_object_object_add(o, "parameters", p) < 0) {
                json_object_put(p);
                return NULL;
        }
        if (more && json_object_object_add(o, "more", json_object_new_boolean(1)) < 0)
                return NULL;
        if (oneway && json_object_object_add(o, "oneway", json_object_new_boolean(1)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *varlink_message_new_reply(json_object *parameters, const char *error,
                                       bool continues) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *p = parameters ? parameters : json_object_new_object();

        if (!o || !p || json_object_object_add(o, "parameters", p) < 0) {
                json_object_put(p);
                return NULL;
        }
        if (error && json_object_object_add(o, "error", json_object_new_string(error)) < 0)
                return NULL;
        if (continues && json_object_object_add(o, "continues", json_object_new_boolean(1)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

int varlink_message_parse_reply(json_object *message, json_object **ret_parameters,
                                const char **ret_error, bool *ret_continues) {
        json_object *p, *e = NULL;
        const char *error = NULL;
        bool continues;
        int r;

        if ((r = get_parameters(message, &p)) < 0 ||
            (r = get_flag(message, "continues", &continues)) < 0)
                return r;
        if (json_object_object_get_ex(message, "error", &e) && e) {
                if (!json_object_is_type(e, json_type_string) || continues)
                        return -EBADMSG;
                error = json_object_get_string(e);
        }
        p = p ? json_object_get(p) : json_object_new_object();
        if (!p)
                return -ENOMEM;
        *ret_parameters = p;
        *ret_error = error;
        *ret_continues = continues;
        return 0;
}
