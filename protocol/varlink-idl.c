/* VarlinkInterface: the parsed form of one varlink interface definition, and the check of JSON
 * values against its types.
 *
 * The parser is a one-token-lookahead lexer under a recursive-descent parser over the
 * NUL-terminated text. It never reads past the NUL, its recursion is bounded by IDL_DEPTH_MAX
 * nested type constructors, and on any error it frees everything built so far. Semantic checks
 * (unique member and field names, resolvable type references, at least one member) use sorted
 * name lists, so hostile input of any size costs O(n log n). Once returned, the tree is never
 * modified; every type reference in it names a `type` member of the same interface.
 *
 * The validator walks a JSON value and a type together. It allocates nothing unless it fails,
 * and then only the path to the offending element. */

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "varlink-idl.h"

/* Nested type constructors ("?", "[]", "[string]", parentheses) one member may contain. */
#define IDL_DEPTH_MAX 64u
/* Bounds the validator's recursion even on hand-built json_object trees or type trees. */
#define VALIDATE_DEPTH_MAX 256u
/* How much of a name an error message quotes. */
#define QUOTE_MAX 64

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* ---- to/from-string tables ---- */

static const char *const type_kind_table[_VARLINK_TYPE_KIND_MAX] = {
        [VARLINK_TYPE_BOOL]   = "bool",
        [VARLINK_TYPE_INT]    = "int",
        [VARLINK_TYPE_FLOAT]  = "float",
        [VARLINK_TYPE_STRING] = "string",
        [VARLINK_TYPE_OBJECT] = "object",
        [VARLINK_TYPE_STRUCT] = "struct",
        [VARLINK_TYPE_ENUM]   = "enum",
        [VARLINK_TYPE_ARRAY]  = "array",
        [VARLINK_TYPE_MAP]    = "map",
        [VARLINK_TYPE_ALIAS]  = "alias",
};

static const char *const member_kind_table[_VARLINK_MEMBER_KIND_MAX] = {
        [VARLINK_MEMBER_TYPE]   = "type",
        [VARLINK_MEMBER_METHOD] = "method",
        [VARLINK_MEMBER_ERROR]  = "error",
};

static int table_lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

const char *varlink_type_kind_to_string(VarlinkTypeKind k) {
        if (k < 0 || k >= _VARLINK_TYPE_KIND_MAX)
                return NULL;
        return type_kind_table[k];
}

VarlinkTypeKind varlink_type_kind_from_string(const char *s) {
        return (VarlinkTypeKind) table_lookup(type_kind_table, _VARLINK_TYPE_KIND_MAX, s);
}

const char *varlink_member_kind_to_string(VarlinkMemberKind k) {
        if (k < 0 || k >= _VARLINK_MEMBER_KIND_MAX)
                return NULL;
        return member_kind_table[k];
}

VarlinkMemberKind varlink_member_kind_from_string(const char *s) {
        return (VarlinkMemberKind) table_lookup(member_kind_table, _VARLINK_MEMBER_KIND_MAX, s);
}

/* ---- the tree ---- */

static VarlinkType *type_free(VarlinkType *t) {
        if (!t)
                return NULL;
        type_free(t->element);
        free(t->alias);
        for (size_t i = 0; i < t->n_fields; i++) {
                free(t->fields[i].name);
                type_free(t->fields[i].type);
        }
        free(t->fields);
        free(t);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkType *, type_free);

VarlinkInterface *varlink_interface_free(VarlinkInterface *iface) {
        if (!iface)
                return NULL;
        for (size_t i = 0; i < iface->n_members; i++) {
                free(iface->members[i].name);
                type_free(iface->members[i].type);
                type_free(iface->members[i].output);
        }
        free(iface->members);
        free(iface->name);
        free(iface->description);
        free(iface);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkInterface *, varlink_interface_free);

/* Arrays grown one element at a time keep a capacity of n rounded up to a power of two, so the
 * capacity needs no field of its own: grow exactly when n is 0 or a power of two. */
static int grow_array(void **array, size_t n, size_t size) {
        if (n & (n - 1))
                return 0;
        size_t cap = n ? n * 2 : 1;
        void *a = reallocarray(*array, cap, size);
        if (!a)
                return -ENOMEM;
        *array = a;
        return 0;
}
#define GROW(array, n) grow_array((void **) &(array), (n), sizeof(*(array)))

/* ---- names ---- */

static bool is_alpha(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c) {
        return is_alpha(c) || (c >= '0' && c <= '9');
}

/* [A-Za-z]([-]*[A-Za-z0-9])*(\.[A-Za-z0-9]([-]*[A-Za-z0-9])*)+ */
static bool interface_name_valid(const char *s, size_t n) {
        size_t dots = 0;

        if (n == 0 || !is_alpha(s[0]))
                return false;
        for (size_t i = 1; i < n; i++) {
                char prev = s[i - 1];
                bool last = i + 1 == n;

                if (s[i] == '.') {
                        if (prev == '.' || prev == '-' || last)
                                return false;
                        dots++;
                } else if (s[i] == '-') {
                        if (prev == '.' || last)
                                return false;
                } else if (!is_alnum(s[i]))
                        return false;
        }
        return dots > 0;
}

/* [A-Z][A-Za-z0-9]* */
static bool member_name_valid(const char *s, size_t n) {
        if (n == 0 || !(s[0] >= 'A' && s[0] <= 'Z'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]))
                        return false;
        return true;
}

/* [A-Za-z](_?[A-Za-z0-9])* */
static bool field_name_valid(const char *s, size_t n) {
        if (n == 0 || !is_alpha(s[0]))
                return false;
        for (size_t i = 1; i < n; i++) {
                if (s[i] == '_' && i + 1 < n && is_alnum(s[i + 1]))
                        continue;
                if (!is_alnum(s[i]))
                        return false;
        }
        return true;
}

static const struct {
        const char *word;
        VarlinkTypeKind kind;
} builtin_types[] = {
        { "bool",   VARLINK_TYPE_BOOL },
        { "int",    VARLINK_TYPE_INT },
        { "float",  VARLINK_TYPE_FLOAT },
        { "string", VARLINK_TYPE_STRING },
        { "object", VARLINK_TYPE_OBJECT },
};

/* ---- lexer ---- */

typedef enum TokenKind {
        TOKEN_END,
        TOKEN_WORD,       /* [A-Za-z0-9_][A-Za-z0-9_.-]*, checked against a name rule by the parser */
        TOKEN_LPAREN,
        TOKEN_RPAREN,
        TOKEN_COMMA,
        TOKEN_COLON,
        TOKEN_QUESTION,
        TOKEN_ARROW,      /* -> */
        TOKEN_ARRAY,      /* [] */
        TOKEN_MAP,        /* [string] */
} TokenKind;

typedef struct Token {
        TokenKind kind;
        const char *start;
        size_t len;
        unsigned line, column;
} Token;

/* A name with its source position, sorted to find duplicates and to resolve references. */
typedef struct NamePos {
        const char *name;
        unsigned line, column;
        size_t order;             /* source order; for members also the index in members[] */
} NamePos;

typedef struct Parser {
        const char *p;            /* next unread byte */
        unsigned line, column;    /* position of *p */
        Token tok;                /* the current token */
        VarlinkIdlError *error;
        VarlinkInterface *iface;
        NamePos *members;         /* member names, for the duplicate check */
        NamePos *refs;            /* named type references, resolved after parsing */
        size_t n_refs;
} Parser;

#define TOKEN_QUOTE(t) (int) ((t)->len < QUOTE_MAX ? (t)->len : QUOTE_MAX), (t)->start

__attribute__((format(printf, 4, 5)))
static int fail_at(Parser *p, unsigned line, unsigned column, const char *fmt, ...) {
        va_list ap;

        if (!p->error)
                return -EINVAL;
        p->error->line = line;
        p->error->column = column;
        va_start(ap, fmt);
        vsnprintf(p->error->message, sizeof(p->error->message), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

#define fail_token(p, t, ...) fail_at((p), (t)->line, (t)->column, __VA_ARGS__)

static void advance(Parser *p) {
        if (*p->p == '\n') {
                p->line++;
                p->column = 1;
        } else
                p->column++;
        p->p++;
}

static void skip_blanks_and_comments(Parser *p) {
        for (;;) {
                char c = *p->p;

                if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                        advance(p);
                else if (c == '#')
                        while (*p->p && *p->p != '\n')
                                advance(p);
                else
                        return;
        }
}

static bool is_word_char(const char *s) {
        if (is_alnum(*s) || *s == '_' || *s == '.')
                return true;
        /* a dash belongs to a name, unless it starts the arrow */
        return *s == '-' && s[1] != '>';
}

static int lex_punctuation(Parser *p, Token *t) {
        static const struct {
                const char *text;
                TokenKind kind;
        } table[] = {
                { "(", TOKEN_LPAREN },   { ")", TOKEN_RPAREN },  { ",", TOKEN_COMMA },
                { ":", TOKEN_COLON },    { "?", TOKEN_QUESTION }, { "->", TOKEN_ARROW },
                { "[]", TOKEN_ARRAY },   { "[string]", TOKEN_MAP },
        };
        unsigned char c = (unsigned char) *p->p;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t n = strlen(table[i].text);

                /* strncmp stops at the terminating NUL of the input, so this never overreads */
                if (strncmp(p->p, table[i].text, n) == 0) {
                        t->kind = table[i].kind;
                        t->len = n;
                        return 0;
                }
        }
        if (c == '[')
                return fail_token(p, t, "expected '[]' or '[string]'");
        if (c > 0x20 && c < 0x7f)
                return fail_token(p, t, "unexpected character '%c'", c);
        return fail_token(p, t, "unexpected byte 0x%02x", c);
}

static int lex_next(Parser *p) {
        Token t = {};
        int r;

        skip_blanks_and_comments(p);
        t.start = p->p;
        t.line = p->line;
        t.column = p->column;
        if (*p->p == '\0')
                t.kind = TOKEN_END;
        else if (is_alnum(*p->p) || *p->p == '_') {
                t.kind = TOKEN_WORD;
                while (is_word_char(p->p + t.len))
                        t.len++;
        } else {
                r = lex_punctuation(p, &t);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < t.len; i++)
                advance(p);
        p->tok = t;
        return 0;
}

static bool token_is_word(const Token *t, const char *word) {
        return t->kind == TOKEN_WORD && t->len == strlen(word) && memcmp(t->start, word, t->len) == 0;
}

/* ---- duplicate detection ---- */

static int namepos_compare(const void *a, const void *b) {
        const NamePos *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return (x->order > y->order) - (x->order < y->order);
}

/* Sorts v and returns the repeated name that comes first in the source, or NULL. */
static const NamePos *find_duplicate(NamePos *v, size_t n) {
        const NamePos *dup = NULL;

        if (n < 2)
                return NULL;
        qsort(v, n, sizeof(NamePos), namepos_compare);
        for (size_t i = 1; i < n; i++)
                if (streq(v[i].name, v[i - 1].name) && (!dup || v[i].order < dup->order))
                        dup = &v[i];
        return dup;
}

/* ---- parser ---- */

static int parse_type(Parser *p, unsigned depth, VarlinkType **ret);

static int type_new(VarlinkTypeKind kind, VarlinkType **ret) {
        VarlinkType *t = calloc(1, sizeof(VarlinkType));

        if (!t)
                return -ENOMEM;
        t->kind = kind;
        *ret = t;
        return 0;
}

static int new_alias(Parser *p, VarlinkType **ret) {
        _cleanup_(type_freep) VarlinkType *t = NULL;
        const Token *w = &p->tok;
        int r;

        if (!member_name_valid(w->start, w->len))
                return fail_token(p, w, "unknown type '%.*s'", TOKEN_QUOTE(w));
        r = type_new(VARLINK_TYPE_ALIAS, &t);
        if (r < 0)
                return r;
        t->alias = strndup(w->start, w->len);
        if (!t->alias)
                return -ENOMEM;
        if (GROW(p->refs, p->n_refs) < 0)
                return -ENOMEM;
        p->refs[p->n_refs] = (NamePos) {
                .name = t->alias, .line = w->line, .column = w->column, .order = p->n_refs,
        };
        p->n_refs++;
        *ret = TAKE_PTR(t);
        return 0;
}

/* A builtin type word or the name of a `type` member, resolved after parsing. */
static int parse_named_type(Parser *p, VarlinkType **ret) {
        _cleanup_(type_freep) VarlinkType *t = NULL;
        int r = 1;

        for (size_t i = 0; i < ELEMENTSOF(builtin_types) && r > 0; i++)
                if (token_is_word(&p->tok, builtin_types[i].word))
                        r = type_new(builtin_types[i].kind, &t);
        if (r > 0)
                r = new_alias(p, &t);
        if (r < 0)
                return r;
        r = lex_next(p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_nullable(Parser *p, unsigned depth, VarlinkType **ret) {
        VarlinkType *t;
        int r;

        r = lex_next(p);
        if (r < 0)
                return r;
        if (p->tok.kind == TOKEN_QUESTION)
                return fail_token(p, &p->tok, "'?\?' is not allowed");
        r = parse_type(p, depth + 1, &t);
        if (r < 0)
                return r;
        t->nullable = true;
        *ret = t;
        return 0;
}

static int parse_container(Parser *p, unsigned depth, VarlinkType **ret) {
        _cleanup_(type_freep) VarlinkType *t = NULL;
        int r;

        r = type_new(p->tok.kind == TOKEN_ARRAY ? VARLINK_TYPE_ARRAY : VARLINK_TYPE_MAP, &t);
        if (r < 0)
                return r;
        r = lex_next(p);
        if (r < 0)
                return r;
        r = parse_type(p, depth + 1, &t->element);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* Reads one struct field or enum value name and moves past it. */
static int parse_field_name(Parser *p, char **ret_name, NamePos *ret_pos) {
        const Token *t = &p->tok;

        if (t->kind != TOKEN_WORD)
                return fail_token(p, t, "expected field name");
        if (!field_name_valid(t->start, t->len))
                return fail_token(p, t, "invalid field name '%.*s'", TOKEN_QUOTE(t));
        *ret_name = strndup(t->start, t->len);
        if (!*ret_name)
                return -ENOMEM;
        *ret_pos = (NamePos) { .line = t->line, .column = t->column };
        return lex_next(p);
}

/* Parses the part of one struct field after its name: ": type". */
static int parse_field_type(Parser *p, unsigned depth, VarlinkType **ret) {
        int r;

        if (p->tok.kind != TOKEN_COLON)
                return fail_token(p, &p->tok, "expected ':' after field name");
        r = lex_next(p);
        if (r < 0)
                return r;
        return parse_type(p, depth + 1, ret);
}

static int parse_item(Parser *p, unsigned depth, VarlinkType *t, NamePos **names) {
        _cleanup_free_ char *name = NULL;
        _cleanup_(type_freep) VarlinkType *ft = NULL;
        NamePos pos;
        int r;

        r = parse_field_name(p, &name, &pos);
        if (r < 0)
                return r;
        /* the first item decides: "(a: T ...)" is a struct, "(a, ...)" or "(a)" an enum */
        if (t->n_fields == 0 && (p->tok.kind == TOKEN_COMMA || p->tok.kind == TOKEN_RPAREN))
                t->kind = VARLINK_TYPE_ENUM;
        if (t->kind == VARLINK_TYPE_STRUCT) {
                r = parse_field_type(p, depth, &ft);
                if (r < 0)
                        return r;
        } else if (p->tok.kind == TOKEN_COLON)
                return fail_token(p, &p->tok, "unexpected ':' in an enum");

        if (GROW(t->fields, t->n_fields) < 0 || GROW(*names, t->n_fields) < 0)
                return -ENOMEM;
        pos.name = name;
        pos.order = t->n_fields;
        (*names)[t->n_fields] = pos;
        t->fields[t->n_fields++] = (VarlinkField) { .name = TAKE_PTR(name), .type = TAKE_PTR(ft) };
        return 0;
}

static int parse_items(Parser *p, unsigned depth, VarlinkType *t) {
        _cleanup_free_ NamePos *names = NULL;
        const NamePos *dup;
        int r;

        for (;;) {
                r = parse_item(p, depth, t, &names);
                if (r < 0)
                        return r;
                if (p->tok.kind == TOKEN_RPAREN)
                        break;
                if (p->tok.kind != TOKEN_COMMA)
                        return fail_token(p, &p->tok, t->kind == VARLINK_TYPE_ENUM ?
                                          "expected ',' or ')' after enum value" :
                                          "expected ',' or ')' after field type");
                r = lex_next(p);
                if (r < 0)
                        return r;
        }

        dup = find_duplicate(names, t->n_fields);
        if (dup)
                return fail_at(p, dup->line, dup->column, "duplicate %s '%.*s'",
                               t->kind == VARLINK_TYPE_ENUM ? "enum value" : "field",
                               QUOTE_MAX, dup->name);
        return lex_next(p);
}

/* "()" is the empty struct; there is no empty enum. */
static int parse_struct_or_enum(Parser *p, unsigned depth, VarlinkType **ret) {
        _cleanup_(type_freep) VarlinkType *t = NULL;
        int r;

        r = type_new(VARLINK_TYPE_STRUCT, &t);
        if (r < 0)
                return r;
        r = lex_next(p);
        if (r < 0)
                return r;
        if (p->tok.kind == TOKEN_RPAREN)
                r = lex_next(p);
        else
                r = parse_items(p, depth, t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_type(Parser *p, unsigned depth, VarlinkType **ret) {
        if (depth > IDL_DEPTH_MAX)
                return fail_token(p, &p->tok, "types nested deeper than %u levels", IDL_DEPTH_MAX);

        switch (p->tok.kind) {
        case TOKEN_QUESTION:
                return parse_nullable(p, depth, ret);
        case TOKEN_ARRAY:
        case TOKEN_MAP:
                return parse_container(p, depth, ret);
        case TOKEN_LPAREN:
                return parse_struct_or_enum(p, depth, ret);
        case TOKEN_WORD:
                return parse_named_type(p, ret);
        default:
                return fail_token(p, &p->tok, "expected a type");
        }
}

/* A method's input and output and an error's parameters are structs, never enums. */
static int parse_struct(Parser *p, const char *what, VarlinkType **ret) {
        _cleanup_(type_freep) VarlinkType *t = NULL;
        Token open = p->tok;
        int r;

        if (open.kind != TOKEN_LPAREN)
                return fail_token(p, &open, "expected '(' to start the %s", what);
        r = parse_struct_or_enum(p, 1, &t);
        if (r < 0)
                return r;
        if (t->kind != VARLINK_TYPE_STRUCT)
                return fail_token(p, &open, "the %s must be a struct, not an enum", what);
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_member_body(Parser *p, VarlinkMember *m) {
        int r;

        switch (m->kind) {
        case VARLINK_MEMBER_TYPE:
                if (p->tok.kind != TOKEN_LPAREN)
                        return fail_token(p, &p->tok, "expected '(' after type name");
                return parse_struct_or_enum(p, 1, &m->type);
        case VARLINK_MEMBER_METHOD:
                r = parse_struct(p, "method input", &m->type);
                if (r < 0)
                        return r;
                if (p->tok.kind != TOKEN_ARROW)
                        return fail_token(p, &p->tok, "expected '->' after method input");
                r = lex_next(p);
                if (r < 0)
                        return r;
                return parse_struct(p, "method output", &m->output);
        default:
                return parse_struct(p, "error parameters", &m->type);
        }
}

static void member_clear(VarlinkMember *m) {
        free(m->name);
        type_free(m->type);
        type_free(m->output);
}

static int parse_member(Parser *p) {
        _cleanup_(member_clear) VarlinkMember m = {};
        VarlinkInterface *iface = p->iface;
        Token name;
        int r;

        for (m.kind = 0; m.kind < _VARLINK_MEMBER_KIND_MAX; m.kind++)
                if (token_is_word(&p->tok, member_kind_table[m.kind]))
                        break;
        if (m.kind == _VARLINK_MEMBER_KIND_MAX)
                return fail_token(p, &p->tok, "expected 'type', 'method' or 'error'");
        r = lex_next(p);
        if (r < 0)
                return r;

        name = p->tok;
        if (name.kind != TOKEN_WORD)
                return fail_token(p, &name, "expected %s name", member_kind_table[m.kind]);
        if (!member_name_valid(name.start, name.len))
                return fail_token(p, &name, "invalid %s name '%.*s'",
                                  member_kind_table[m.kind], TOKEN_QUOTE(&name));
        m.name = strndup(name.start, name.len);
        if (!m.name)
                return -ENOMEM;
        r = lex_next(p);
        if (r < 0)
                return r;
        r = parse_member_body(p, &m);
        if (r < 0)
                return r;

        if (GROW(iface->members, iface->n_members) < 0 || GROW(p->members, iface->n_members) < 0)
                return -ENOMEM;
        p->members[iface->n_members] = (NamePos) {
                .name = m.name, .line = name.line, .column = name.column, .order = iface->n_members,
        };
        iface->members[iface->n_members++] = m;
        m = (VarlinkMember) {};
        return 0;
}

static int parse_header(Parser *p) {
        const Token *t = &p->tok;
        int r;

        if (!token_is_word(t, "interface"))
                return fail_token(p, t, "expected 'interface'");
        r = lex_next(p);
        if (r < 0)
                return r;
        if (t->kind != TOKEN_WORD)
                return fail_token(p, t, "expected interface name");
        if (!interface_name_valid(t->start, t->len))
                return fail_token(p, t, "invalid interface name '%.*s'", TOKEN_QUOTE(t));
        p->iface->name = strndup(t->start, t->len);
        if (!p->iface->name)
                return -ENOMEM;
        return lex_next(p);
}

static int namepos_compare_name(const void *key, const void *elem) {
        return strcmp(key, ((const NamePos *) elem)->name);
}

/* Runs after the whole text is parsed: names are unique and every reference is a `type`.
 * Sorts p->members, so their order fields lead back to iface->members[]. */
static int check_semantics(Parser *p) {
        const VarlinkInterface *iface = p->iface;
        const NamePos *dup;

        dup = find_duplicate(p->members, iface->n_members);
        if (dup)
                return fail_at(p, dup->line, dup->column, "duplicate member '%.*s'", QUOTE_MAX, dup->name);

        for (size_t i = 0; i < p->n_refs; i++) {
                const NamePos *ref = &p->refs[i], *found;
                VarlinkMemberKind kind;

                /* names are unique now, so any match is the one */
                found = bsearch(ref->name, p->members, iface->n_members, sizeof(NamePos),
                                namepos_compare_name);
                if (!found)
                        return fail_at(p, ref->line, ref->column, "unknown type '%.*s'",
                                       QUOTE_MAX, ref->name);
                kind = iface->members[found->order].kind;
                if (kind != VARLINK_MEMBER_TYPE)
                        return fail_at(p, ref->line, ref->column, "'%.*s' is %s, not a type",
                                       QUOTE_MAX, ref->name,
                                       kind == VARLINK_MEMBER_METHOD ? "a method" : "an error");
        }
        return 0;
}

static int parse_interface(Parser *p) {
        int r;

        r = lex_next(p);
        if (r < 0)
                return r;
        r = parse_header(p);
        if (r < 0)
                return r;
        while (p->tok.kind != TOKEN_END) {
                r = parse_member(p);
                if (r < 0)
                        return r;
        }
        if (p->iface->n_members == 0)
                return fail_token(p, &p->tok, "interface has no members");
        return check_semantics(p);
}

int varlink_interface_parse(VarlinkInterface **ret, const char *text, VarlinkIdlError *error) {
        _cleanup_(varlink_interface_freep) VarlinkInterface *iface = NULL;
        Parser p = { .p = text, .line = 1, .column = 1, .error = error };
        int r;

        if (!ret || !text)
                return -EINVAL;
        iface = calloc(1, sizeof(VarlinkInterface));
        if (!iface)
                return -ENOMEM;
        iface->description = strdup(text);
        if (!iface->description)
                return -ENOMEM;

        p.iface = iface;
        r = parse_interface(&p);
        free(p.members);
        free(p.refs);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(iface);
        return 0;
}

/* ---- lookups ---- */

static const VarlinkMember *find_member(const VarlinkInterface *iface, const char *name, int kind) {
        if (!iface || !name)
                return NULL;
        for (size_t i = 0; i < iface->n_members; i++) {
                const VarlinkMember *m = &iface->members[i];

                if ((kind < 0 || (int) m->kind == kind) && streq(m->name, name))
                        return m;
        }
        return NULL;
}

const VarlinkMember *varlink_interface_find(const VarlinkInterface *iface, const char *name) {
        return find_member(iface, name, -1);
}

const VarlinkMember *varlink_interface_find_method(const VarlinkInterface *iface, const char *name) {
        return find_member(iface, name, VARLINK_MEMBER_METHOD);
}

const VarlinkMember *varlink_interface_find_error(const VarlinkInterface *iface, const char *name) {
        return find_member(iface, name, VARLINK_MEMBER_ERROR);
}

/* ---- validation ---- */

/* One step of the path from the top-level value to the element being checked; the chain lives
 * on the stack, so a successful check allocates nothing. */
typedef struct Path {
        const struct Path *parent;
        const char *field;        /* a struct field: "name" at the top, ".name" below */
        const char *key;          /* a map key: ["key"] */
        size_t index;             /* an array index [index], when field and key are NULL */
} Path;

typedef struct Validator {
        const VarlinkInterface *iface;
        char **ret_path;
} Validator;

static void write_key(FILE *f, const char *key) {
        fputs("[\"", f);
        for (const unsigned char *c = (const unsigned char *) key; *c; c++) {
                if (*c == '"' || *c == '\\')
                        fprintf(f, "\\%c", *c);
                else if (*c < 0x20)
                        fprintf(f, "\\u%04x", *c);
                else
                        fputc(*c, f);
        }
        fputs("\"]", f);
}

static void write_path(FILE *f, const Path *path) {
        if (!path)
                return;
        write_path(f, path->parent);
        if (path->field)
                fprintf(f, "%s%s", path->parent ? "." : "", path->field);
        else if (path->key)
                write_key(f, path->key);
        else
                fprintf(f, "[%zu]", path->index);
}

/* Reports a failed check at path; -ENOMEM if the path cannot be built. */
static int invalid(const Validator *v, const Path *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!v->ret_path)
                return -EINVAL;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        write_path(f, path);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *v->ret_path = buf;
        return -EINVAL;
}

/* json-c 0.16 stores integers above INT64_MAX as uint64 (saturating at UINT64_MAX), and
 * get_int64 then answers INT64_MAX; get_uint64 tells the two apart. Integers below INT64_MIN
 * are clamped to INT64_MIN by the tokener itself and cannot be told apart from it here. */
static bool int_fits(json_object *o) {
        if (!json_object_is_type(o, json_type_int))
                return false;
        if (json_object_get_int64(o) != INT64_MAX)
                return true;
        return json_object_get_uint64(o) == (uint64_t) INT64_MAX;
}

/* JSON has no NaN or infinity, and 1e400 does not fit a double (json-c reads it as inf). */
static bool float_fits(json_object *o) {
        if (json_object_is_type(o, json_type_int))
                return true;
        return json_object_is_type(o, json_type_double) && isfinite(json_object_get_double(o));
}

static bool enum_has(const VarlinkType *t, json_object *o) {
        const char *s;

        if (!json_object_is_type(o, json_type_string))
                return false;
        s = json_object_get_string(o);
        for (size_t i = 0; i < t->n_fields; i++)
                if (streq(t->fields[i].name, s))
                        return true;
        return false;
}

static const VarlinkField *struct_field(const VarlinkType *t, const char *name) {
        for (size_t i = 0; i < t->n_fields; i++)
                if (streq(t->fields[i].name, name))
                        return &t->fields[i];
        return NULL;
}

static int validate_value(const Validator *v, const VarlinkType *t, json_object *o,
                          const Path *path, unsigned depth);

/* o is a JSON object, or NULL for the empty one. */
static int validate_struct(const Validator *v, const VarlinkType *t, json_object *o,
                           const Path *path, unsigned depth) {
        int r;

        if (o) {
                json_object_object_foreach(o, key, value) {
                        (void) value;
                        if (!struct_field(t, key))
                                return invalid(v, &(Path) { .parent = path, .field = key });
                }
        }
        for (size_t i = 0; i < t->n_fields; i++) {
                const VarlinkField *f = &t->fields[i];
                json_object *fo = NULL;

                if (o)
                        json_object_object_get_ex(o, f->name, &fo);
                r = validate_value(v, f->type, fo, &(Path) { .parent = path, .field = f->name }, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_array(const Validator *v, const VarlinkType *t, json_object *o,
                          const Path *path, unsigned depth) {
        size_t n = json_object_array_length(o);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = validate_value(v, t->element, json_object_array_get_idx(o, i),
                                   &(Path) { .parent = path, .index = i }, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int validate_map(const Validator *v, const VarlinkType *t, json_object *o,
                        const Path *path, unsigned depth) {
        int r;

        json_object_object_foreach(o, key, value) {
                r = validate_value(v, t->element, value, &(Path) { .parent = path, .key = key }, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const VarlinkType *resolve_alias(const Validator *v, const VarlinkType *t) {
        const VarlinkMember *m = find_member(v->iface, t->alias, VARLINK_MEMBER_TYPE);

        return m ? m->type : NULL;
}

/* Checks a value against a type whose JSON form is a container: struct, array or map. */
static int validate_container(const Validator *v, const VarlinkType *t, json_object *o,
                              const Path *path, unsigned depth) {
        switch (t->kind) {
        case VARLINK_TYPE_STRUCT:
                if (!json_object_is_type(o, json_type_object))
                        return invalid(v, path);
                return validate_struct(v, t, o, path, depth);
        case VARLINK_TYPE_ARRAY:
                if (!json_object_is_type(o, json_type_array) || !t->element)
                        return invalid(v, path);
                return validate_array(v, t, o, path, depth);
        default:
                if (!json_object_is_type(o, json_type_object) || !t->element)
                        return invalid(v, path);
                return validate_map(v, t, o, path, depth);
        }
}

static int validate_value(const Validator *v, const VarlinkType *t, json_object *o,
                          const Path *path, unsigned depth) {
        const VarlinkType *target;
        bool ok;

        /* json-c represents JSON null as NULL; a missing field is handled the same way */
        if (!o)
                return t && t->nullable ? 0 : invalid(v, path);
        if (!t || depth > VALIDATE_DEPTH_MAX)
                return invalid(v, path);

        switch (t->kind) {
        case VARLINK_TYPE_BOOL:
                ok = json_object_is_type(o, json_type_boolean);
                break;
        case VARLINK_TYPE_INT:
                ok = int_fits(o);
                break;
        case VARLINK_TYPE_FLOAT:
                ok = float_fits(o);
                break;
        case VARLINK_TYPE_STRING:
                ok = json_object_is_type(o, json_type_string);
                break;
        case VARLINK_TYPE_OBJECT:
                ok = json_object_is_type(o, json_type_object);
                break;
        case VARLINK_TYPE_ENUM:
                ok = enum_has(t, o);
                break;
        case VARLINK_TYPE_STRUCT:
        case VARLINK_TYPE_ARRAY:
        case VARLINK_TYPE_MAP:
                return validate_container(v, t, o, path, depth);
        case VARLINK_TYPE_ALIAS:
                target = resolve_alias(v, t);
                if (!target)
                        return invalid(v, path);
                return validate_value(v, target, o, path, depth + 1);
        default:
                ok = false;
        }
        return ok ? 0 : invalid(v, path);
}

int varlink_interface_validate(const VarlinkInterface *iface, const VarlinkType *type,
                               json_object *value, char **ret_path) {
        const Validator v = { .iface = iface, .ret_path = ret_path };
        const VarlinkType *t = type;

        if (!iface || !type)
                return -EINVAL;
        if (t->kind == VARLINK_TYPE_ALIAS) {
                t = resolve_alias(&v, t);
                if (!t)
                        return invalid(&v, NULL);
        }
        /* the call without parameters: NULL stands for {} */
        if (t->kind == VARLINK_TYPE_STRUCT && !value)
                return validate_struct(&v, t, NULL, NULL, 0);
        return validate_value(&v, t, value, NULL, 0);
}
