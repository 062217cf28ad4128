/* JsonMember: reading and adding the members of json-c objects, the way every command does:
 * a member of the wrong type reads as absent, and an add takes the value over. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

/* o[key] of any type, or NULL (also when o is NULL or not an object). */
json_object *json_member_get(json_object *o, const char *key);
const char *json_member_string(json_object *o, const char *key);
json_object *json_member_array(json_object *o, const char *key);
bool json_member_int(json_object *o, const char *key, int64_t *ret);
/* Sets o[key] to value, which it takes over (also on failure); -ENOMEM when value is NULL. */
int json_member_add(json_object *o, const char *key, json_object *value);
/* {key: value}, taking value over; NULL without memory. */
json_object *json_member_only(const char *key, json_object *value);
