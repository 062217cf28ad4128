/* VarlinkInterface: one parsed varlink interface definition (IDL) and the checks of JSON values
 * against its types. The parsed tree is immutable after varlink_interface_parse() and keeps the
 * exact source text, which GetInterfaceDescription returns. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

typedef enum VarlinkTypeKind {
        VARLINK_TYPE_BOOL,
        VARLINK_TYPE_INT,
        VARLINK_TYPE_FLOAT,
        VARLINK_TYPE_STRING,
        VARLINK_TYPE_OBJECT,
        VARLINK_TYPE_STRUCT,
        VARLINK_TYPE_ENUM,
        VARLINK_TYPE_ARRAY,       /* []T */
        VARLINK_TYPE_MAP,         /* [string]T */
        VARLINK_TYPE_ALIAS,       /* a named `type` of the same interface */
        _VARLINK_TYPE_KIND_MAX,
        _VARLINK_TYPE_KIND_INVALID = -EINVAL,
} VarlinkTypeKind;

typedef enum VarlinkMemberKind {
        VARLINK_MEMBER_TYPE,
        VARLINK_MEMBER_METHOD,
        VARLINK_MEMBER_ERROR,
        _VARLINK_MEMBER_KIND_MAX,
        _VARLINK_MEMBER_KIND_INVALID = -EINVAL,
} VarlinkMemberKind;

typedef struct VarlinkType VarlinkType;

typedef struct VarlinkField {
        char *name;
        VarlinkType *type;        /* NULL for the values of an enum */
} VarlinkField;

struct VarlinkType {
        VarlinkTypeKind kind;
        bool nullable;
        VarlinkType *element;     /* ARRAY and MAP */
        char *alias;              /* ALIAS */
        VarlinkField *fields;     /* STRUCT fields or ENUM values, in source order */
        size_t n_fields;
};

typedef struct VarlinkMember {
        VarlinkMemberKind kind;
        char *name;
        VarlinkType *type;        /* TYPE: its struct or enum; METHOD: input; ERROR: parameters */
        VarlinkType *output;      /* METHOD only */
} VarlinkMember;

typedef struct VarlinkInterface {
        char *name;
        char *description;        /* the source text, byte for byte */
        VarlinkMember *members;
        size_t n_members;
} VarlinkInterface;

typedef struct VarlinkIdlError {
        unsigned line;            /* 1-based */
        unsigned column;          /* 1-based, in bytes */
        char message[160];
} VarlinkIdlError;

const char *varlink_type_kind_to_string(VarlinkTypeKind k);
VarlinkTypeKind varlink_type_kind_from_string(const char *s);
const char *varlink_member_kind_to_string(VarlinkMemberKind k);
VarlinkMemberKind varlink_member_kind_from_string(const char *s);

/* Parses the full grammar. On a syntax or semantic error (unknown type name, duplicate member,
 * bad name) returns -EINVAL and fills *error (which may be NULL) with the position and reason.
 * -ENOMEM on allocation failure. */
int varlink_interface_parse(VarlinkInterface **ret, const char *text, VarlinkIdlError *error);
VarlinkInterface *varlink_interface_free(VarlinkInterface *iface);

/* Looks up a member by its short name ("Ping", not "org.example.Ping"); NULL when absent. */
const VarlinkMember *varlink_interface_find(const VarlinkInterface *iface, const char *name);
const VarlinkMember *varlink_interface_find_method(const VarlinkInterface *iface, const char *name);
const VarlinkMember *varlink_interface_find_error(const VarlinkInterface *iface, const char *name);

/* Checks a JSON value against a struct type of iface (a method's input or output, or an
 * error's parameters). NULL value counts as the empty object. Unknown fields, missing
 * non-nullable fields, wrong JSON types, enum values not listed and integers that do not fit
 * int64 are refused with -EINVAL; then *ret_path (if not NULL) gets a malloc'd path to the
 * offending element, starting with the top-level field name: "spec", "spec.apps[2].name",
 * "labels[\"os\"]". A float field also takes a JSON integer. */
int varlink_interface_validate(const VarlinkInterface *iface, const VarlinkType *type,
                               json_object *value, char **ret_path);
