/* JsonMember; see json-member.h. */
#include <errno.h>

#include "json-member.h"

json_object *json_member_get(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *json_member_string(json_object *o, const char *key) {
        json_object *v = json_member_get(o, key);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

json_object *json_member_array(json_object *o, const char *key) {
        json_object *v = json_member_get(o, key);

        return json_object_is_type(v, json_type_array) ? v : NULL;
}

bool json_member_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v = json_member_get(o, key);

        if (!json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

int json_member_add(json_object *o, const char *key, json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

json_object *json_member_only(const char *key, json_object *value) {
        json_object *o = json_object_new_object();

        if (!o) {
                json_object_put(value);
                return NULL;
        }
        if (json_member_add(o, key, value) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}
