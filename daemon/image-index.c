/* ImageIndex; see image-index.h. Every statement is prepared once at open and reset by a
 * cleanup attribute after use, so no path leaves a statement holding a read lock. Labels are
 * matched by one fixed statement: the requested labels travel as one JSON object parameter
 * and an image matches when all of them join with its rows in the labels table. */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image-index.h"

enum {
        STMT_BEGIN,
        STMT_BEGIN_WRITE,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_INSERT_IMAGE,
        STMT_INSERT_LABEL,
        STMT_CONTAINS,
        STMT_GET,
        STMT_GET_LABELS,
        STMT_MANIFEST,
        STMT_FIND_PREFIX,
        STMT_FIND_NAME,
        STMT_LIST,
        STMT_TOUCH,
        STMT_REMOVE,
        STMT_SET_CHECK_DIGEST,
        _STMT_MAX,
};

/* ?2 is a JSON object of the requested labels, ?3 how many there are. */
#define LABELS_MATCH                                                                    \
        "(?3 = 0 OR (SELECT count(*) FROM labels AS l, json_each(?2) AS j"              \
        " WHERE l.key = i.key AND l.name = j.key AND l.value = j.value) = ?3)"

static const char *const statement_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN",
        [STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_INSERT_IMAGE] =
                "INSERT INTO images (key, id, name, manifest, size, imported_usec, last_used_usec,"
                " check_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) ON CONFLICT (key) DO NOTHING",
        [STMT_INSERT_LABEL] = "INSERT INTO labels (key, name, value) VALUES (?1, ?2, ?3)",
        [STMT_CONTAINS] = "SELECT 1 FROM images WHERE key = ?1",
        [STMT_GET] = "SELECT id, name, size, imported_usec, last_used_usec, check_digest"
                     " FROM images WHERE key = ?1",
        [STMT_GET_LABELS] = "SELECT name, value FROM labels WHERE key = ?1 ORDER BY rowid",
        [STMT_MANIFEST] = "SELECT manifest FROM images WHERE key = ?1",
        [STMT_FIND_PREFIX] = "SELECT id FROM images WHERE key >= ?1 AND key < ?2"
                             " ORDER BY key LIMIT ?3",
        [STMT_FIND_NAME] = "SELECT key FROM images AS i WHERE name = ?1 AND " LABELS_MATCH
                           " ORDER BY imported_usec DESC, key DESC LIMIT 1",
        [STMT_LIST] = "SELECT key FROM images AS i"
                      " WHERE (?1 IS NULL OR substr(name, 1, length(?1)) = ?1) AND " LABELS_MATCH
                      " ORDER BY name, imported_usec DESC, key LIMIT ?4",
        [STMT_TOUCH] = "UPDATE images SET last_used_usec = max(last_used_usec, ?2) WHERE key = ?1",
        [STMT_REMOVE] = "DELETE FROM images WHERE key = ?1",
        [STMT_SET_CHECK_DIGEST] = "UPDATE images SET check_digest = ?2 WHERE key = ?1",
};

static const char schema_sql[] =
        "CREATE TABLE images ("
        " key TEXT PRIMARY KEY NOT NULL,"
        " id TEXT UNIQUE NOT NULL,"
        " name TEXT NOT NULL,"
        " manifest TEXT NOT NULL,"
        " size INTEGER NOT NULL,"
        " imported_usec INTEGER NOT NULL,"
        " last_used_usec INTEGER NOT NULL,"
        " check_digest TEXT);"
        "CREATE INDEX images_by_name ON images (name, imported_usec);"
        "CREATE TABLE labels ("
        " key TEXT NOT NULL REFERENCES images (key) ON DELETE CASCADE,"
        " name TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " UNIQUE (key, name));"
        "CREATE INDEX labels_by_name ON labels (name, value);";

struct ImageIndex {
        sqlite3 *db;
        sqlite3_stmt *stmt[_STMT_MAX];
};

static int sql_errno(sqlite3 *db, int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
                if (db && sqlite3_system_errno(db) > 0)
                        return -sqlite3_system_errno(db);
                return -EIO;
        default:
                return -EIO;
        }
}

/* Resets and unbinds a statement when the variable holding it goes out of scope. */
static void stmt_resetp(sqlite3_stmt **st) {
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

/* 1 for a row, 0 when done, or a negative errno. */
static int stmt_step(ImageIndex *x, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sql_errno(x->db, rc) ?: -EIO;
}

static int stmt_run(ImageIndex *x, int which) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[which];
        int r = stmt_step(x, st);

        return r < 0 ? r : 0;
}

static int bind_text(ImageIndex *x, sqlite3_stmt *st, int i, const char *s) {
        int rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);

        return sql_errno(x->db, rc);
}

static int bind_u64(ImageIndex *x, sqlite3_stmt *st, int i, uint64_t v) {
        if (v > INT64_MAX)
                return -ERANGE;
        return sql_errno(x->db, sqlite3_bind_int64(st, i, (sqlite3_int64) v));
}

static uint64_t column_u64(sqlite3_stmt *st, int i) {
        sqlite3_int64 v = sqlite3_column_int64(st, i);

        return v < 0 ? 0 : (uint64_t) v;
}

/* A transaction that rolls back unless committed: `_cleanup_txn_ ImageIndex *txn = NULL;`,
 * txn_begin(x, &txn, ...), and txn_commit(&txn) on success. */
static void txn_rollbackp(ImageIndex **txn) {
        if (*txn)
                (void) stmt_run(*txn, STMT_ROLLBACK);
}
#define _cleanup_txn_ _cleanup_(txn_rollbackp)

static int txn_begin(ImageIndex *x, ImageIndex **txn, bool write) {
        int r = stmt_run(x, write ? STMT_BEGIN_WRITE : STMT_BEGIN);

        if (r < 0)
                return r;
        *txn = x;
        return 0;
}

static int txn_commit(ImageIndex **txn) {
        int r = stmt_run(*txn, STMT_COMMIT);

        if (r < 0)
                return r;       /* the cleanup rolls back */
        *txn = NULL;
        return 0;
}

static int exec_sql(ImageIndex *x, const char *sql) {
        return sql_errno(x->db, sqlite3_exec(x->db, sql, NULL, NULL, NULL));
}

static int journal_mode_cb(void *userdata, int n, char **values, char **names) {
        (void) names;
        *(bool *) userdata = n == 1 && values[0] && strcmp(values[0], "wal") == 0;
        return 0;
}

static int index_configure(ImageIndex *x) {
        bool wal = false;
        int r;

        sqlite3_busy_timeout(x->db, IMAGE_INDEX_BUSY_TIMEOUT_MS);
        (void) sqlite3_db_config(x->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        (void) sqlite3_db_config(x->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        r = sql_errno(x->db, sqlite3_exec(x->db, "PRAGMA journal_mode=WAL", journal_mode_cb, &wal,
                                          NULL));
        if (r < 0)
                return r;
        if (!wal)
                return -EOPNOTSUPP;     /* e.g. a file system without shared memory */
        /* FULL: an import that returned success survives a power loss. */
        return exec_sql(x, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
}

static int schema_version(ImageIndex *x, int *ret) {
        sqlite3_stmt *raw = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(x->db, "PRAGMA user_version", -1, &raw, NULL);
        if (rc != SQLITE_OK)
                return sql_errno(x->db, rc);
        r = stmt_step(x, raw);
        if (r > 0)
                *ret = sqlite3_column_int(raw, 0);
        sqlite3_finalize(raw);
        return r < 0 ? r : r == 0 ? -EIO : 0;
}

/* Creates the schema in the first process to get there; the others wait on the write lock
 * and then find it made. */
static int index_schema(ImageIndex *x) {
        int version = 0, r;

        r = exec_sql(x, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = schema_version(x, &version);
        if (r >= 0 && version > IMAGE_INDEX_SCHEMA_VERSION)
                r = -EPROTONOSUPPORT;   /* written by a newer stage0d */
        if (r >= 0 && version == 0)
                r = exec_sql(x, schema_sql);
        /* Version 1 had no check digests: its images are checked by ID until rendered. */
        if (r >= 0 && version == 1)
                r = exec_sql(x, "ALTER TABLE images ADD COLUMN check_digest TEXT");
        _Static_assert(IMAGE_INDEX_SCHEMA_VERSION == 2, "the PRAGMA below writes 2");
        if (r >= 0 && version < IMAGE_INDEX_SCHEMA_VERSION)
                r = exec_sql(x, "PRAGMA user_version = 2");
        if (r >= 0)
                r = exec_sql(x, "COMMIT");
        if (r < 0)
                (void) exec_sql(x, "ROLLBACK");
        return r;
}

static int index_prepare(ImageIndex *x) {
        for (size_t i = 0; i < _STMT_MAX; i++) {
                int rc = sqlite3_prepare_v3(x->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &x->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return sql_errno(x->db, rc);
        }
        return 0;
}

ImageIndex *image_index_free(ImageIndex *x) {
        if (!x)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(x->stmt[i]);
        sqlite3_close_v2(x->db);
        free(x);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageIndex *, image_index_free);

int image_index_open(ImageIndex **ret, const char *path) {
        _cleanup_(image_index_freep) ImageIndex *x = NULL;
        int rc, r;

        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &x->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE,
                             NULL);
        if (rc != SQLITE_OK)
                return sql_errno(x->db, rc) ?: -EIO;
        r = index_configure(x);
        if (r < 0)
                return r;
        r = index_schema(x);
        if (r < 0)
                return r;
        r = index_prepare(x);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(x);
        return 0;
}

static int insert_labels(ImageIndex *x, const ImageInfo *info) {
        for (size_t i = 0; i < info->n_labels; i++) {
                _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_INSERT_LABEL];
                int r;

                r = bind_text(x, st, 1, info->key);
                if (r >= 0)
                        r = bind_text(x, st, 2, info->labels[i].name);
                if (r >= 0)
                        r = bind_text(x, st, 3, info->labels[i].value);
                if (r >= 0)
                        r = stmt_step(x, st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int insert_image(ImageIndex *x, const ImageInfo *info, const char *manifest) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_INSERT_IMAGE];
        int r;

        r = bind_text(x, st, 1, info->key);
        if (r >= 0)
                r = bind_text(x, st, 2, info->id);
        if (r >= 0)
                r = bind_text(x, st, 3, info->name);
        if (r >= 0)
                r = bind_text(x, st, 4, manifest);
        if (r >= 0)
                r = bind_u64(x, st, 5, info->size);
        if (r >= 0)
                r = bind_u64(x, st, 6, info->imported_usec);
        if (r >= 0)
                r = bind_text(x, st, 7, info->check_digest[0] ? info->check_digest : NULL);
        if (r >= 0)
                r = stmt_step(x, st);
        if (r < 0)
                return r;
        return sqlite3_changes(x->db) > 0 ? 0 : 1;
}

int image_index_insert(ImageIndex *x, const ImageInfo *info, const char *manifest) {
        _cleanup_txn_ ImageIndex *txn = NULL;
        int r, added;

        if (!info->name || !manifest)
                return -EINVAL;
        r = txn_begin(x, &txn, true);
        if (r < 0)
                return r;
        added = insert_image(x, info, manifest);
        if (added < 0)
                return added;
        if (added == 0) {
                r = insert_labels(x, info);
                if (r < 0)
                        return r;
        }
        r = txn_commit(&txn);
        return r < 0 ? r : added;
}

int image_index_contains(ImageIndex *x, const char *key) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_CONTAINS];
        int r = bind_text(x, st, 1, key);

        return r < 0 ? r : stmt_step(x, st);
}

static char *column_strdup(sqlite3_stmt *st, int i) {
        const unsigned char *s = sqlite3_column_text(st, i);

        return strdup(s ? (const char *) s : "");
}

static int get_labels(ImageIndex *x, const char *key, ImageInfo *info) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_GET_LABELS];
        int r;

        r = bind_text(x, st, 1, key);
        while (r >= 0 && (r = stmt_step(x, st)) > 0) {
                AppcLabel *a = reallocarray(info->labels, info->n_labels + 1, sizeof(AppcLabel));

                if (!a)
                        return -ENOMEM;
                info->labels = a;
                a[info->n_labels] = (AppcLabel) {
                        .name = column_strdup(st, 0),
                        .value = column_strdup(st, 1),
                };
                info->n_labels++;
                if (!a[info->n_labels - 1].name || !a[info->n_labels - 1].value)
                        return -ENOMEM;
        }
        return r;
}

static int get_row(ImageIndex *x, const char *key, ImageInfo *info) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_GET];
        const unsigned char *id, *digest;
        int r;

        r = bind_text(x, st, 1, key);
        if (r >= 0)
                r = stmt_step(x, st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        id = sqlite3_column_text(st, 0);
        if (!id || strlen((const char *) id) != IMAGE_ID_LEN || strlen(key) != IMAGE_KEY_LEN)
                return -EUCLEAN;
        memcpy(info->id, id, IMAGE_ID_LEN + 1);
        memcpy(info->key, key, IMAGE_KEY_LEN + 1);
        info->name = column_strdup(st, 1);
        if (!info->name)
                return -ENOMEM;
        info->size = column_u64(st, 2);
        info->imported_usec = column_u64(st, 3);
        info->last_used_usec = column_u64(st, 4);
        digest = sqlite3_column_text(st, 5);
        if (digest && strlen((const char *) digest) < sizeof(info->check_digest))
                memcpy(info->check_digest, digest, strlen((const char *) digest) + 1);
        return 0;
}

/* Fills *ret inside the caller's transaction. */
static int get_info(ImageIndex *x, const char *key, ImageInfo *ret) {
        ImageInfo info = {};
        int r;

        r = get_row(x, key, &info);
        if (r >= 0)
                r = get_labels(x, key, &info);
        if (r < 0) {
                image_info_clear(&info);
                return r;
        }
        *ret = info;
        return 0;
}

int image_index_get(ImageIndex *x, const char *key, ImageInfo *ret) {
        _cleanup_txn_ ImageIndex *txn = NULL;
        ImageInfo info;
        int r;

        r = txn_begin(x, &txn, false);
        if (r < 0)
                return r;
        r = get_info(x, key, &info);
        if (r < 0)
                return r;
        r = txn_commit(&txn);
        if (r < 0) {
                image_info_clear(&info);
                return r;
        }
        *ret = info;
        return 0;
}

int image_index_manifest(ImageIndex *x, const char *key, char **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_MANIFEST];
        char *s;
        int r;

        r = bind_text(x, st, 1, key);
        if (r >= 0)
                r = stmt_step(x, st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        s = column_strdup(st, 0);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static void strv_freep(char ***p) {
        if (*p)
                for (char **s = *p; *s; s++)
                        free(*s);
        free(*p);
}

int image_index_find_key_prefix(ImageIndex *x, const char *key_prefix, size_t max,
                                char ***ret_ids) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_FIND_PREFIX];
        _cleanup_(strv_freep) char **ids = NULL;
        _cleanup_free_ char *upper = NULL;
        size_t n = 0, len = strlen(key_prefix);
        int r;

        /* The keys that start with the prefix are those in [prefix, prefix with its last
         * character incremented): an index range instead of a scan. */
        if (len == 0 || (unsigned char) key_prefix[len - 1] >= 0x7f || max > INT32_MAX)
                return -EINVAL;
        upper = strdup(key_prefix);
        ids = calloc(max + 1, sizeof(char *));
        if (!upper || !ids)
                return -ENOMEM;
        upper[len - 1]++;
        r = bind_text(x, st, 1, key_prefix);
        if (r >= 0)
                r = bind_text(x, st, 2, upper);
        if (r >= 0)
                r = sql_errno(x->db, sqlite3_bind_int64(st, 3, (sqlite3_int64) max));
        while (r >= 0 && n < max && (r = stmt_step(x, st)) > 0) {
                ids[n] = column_strdup(st, 0);
                if (!ids[n++])
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret_ids = TAKE_PTR(ids);
        return (int) n;
}

/* The requested labels as one JSON object, for LABELS_MATCH. Returns the number of distinct
 * labels, or -ENOENT when two of them ask for different values of one name (nothing can
 * match). */
static int labels_filter(const AppcLabel *labels, size_t n, char **ret_json) {
        _cleanup_json_ json_object *o = json_object_new_object();
        char *s;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = NULL;

                if (!labels[i].name || !labels[i].value)
                        return -EINVAL;
                if (json_object_object_get_ex(o, labels[i].name, &v)) {
                        if (strcmp(json_object_get_string(v), labels[i].value) != 0)
                                return -ENOENT;
                        continue;
                }
                v = json_object_new_string(labels[i].value);
                if (!v || json_object_object_add(o, labels[i].name, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return json_object_object_length(o);
}

static int bind_labels(ImageIndex *x, sqlite3_stmt *st, const char *json, int n) {
        int r = bind_text(x, st, 2, json);

        return r < 0 ? r : sql_errno(x->db, sqlite3_bind_int(st, 3, n));
}

int image_index_find_name(ImageIndex *x, const char *name, const AppcLabel *labels,
                          size_t n_labels, char ret_key[IMAGE_KEY_LEN + 1]) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_FIND_NAME];
        _cleanup_free_ char *json = NULL;
        const unsigned char *key;
        int n, r;

        n = labels_filter(labels, n_labels, &json);
        if (n < 0)
                return n;
        r = bind_text(x, st, 1, name);
        if (r >= 0)
                r = bind_labels(x, st, json, n);
        if (r >= 0)
                r = stmt_step(x, st);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        key = sqlite3_column_text(st, 0);
        if (!key || strlen((const char *) key) != IMAGE_KEY_LEN)
                return -EUCLEAN;
        memcpy(ret_key, key, IMAGE_KEY_LEN + 1);
        return 0;
}

/* The keys of the list, inside the caller's transaction. */
static int list_keys(ImageIndex *x, const char *name_prefix, const char *json, int n_labels,
                     size_t max, char ***ret_keys, size_t *ret_n) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_LIST];
        _cleanup_(strv_freep) char **keys = NULL;
        size_t n = 0;
        int r;

        if (max >= INT32_MAX)
                return -EINVAL;
        keys = calloc(max + 1, sizeof(char *));
        if (!keys)
                return -ENOMEM;
        r = bind_text(x, st, 1, name_prefix);
        if (r >= 0)
                r = bind_labels(x, st, json, n_labels);
        if (r >= 0)     /* one more than max, to tell "exactly max" from "too many" */
                r = sql_errno(x->db, sqlite3_bind_int64(st, 4, (sqlite3_int64) max + 1));
        while (r >= 0 && (r = stmt_step(x, st)) > 0) {
                if (n == max)
                        return -E2BIG;
                keys[n] = column_strdup(st, 0);
                if (!keys[n++])
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret_keys = TAKE_PTR(keys);
        *ret_n = n;
        return 0;
}

static int list_infos(ImageIndex *x, char **keys, size_t n, ImageInfo **ret) {
        ImageInfo *a = calloc(n ?: 1, sizeof(ImageInfo));

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = get_info(x, keys[i], &a[i]);

                if (r < 0) {
                        image_info_array_free(a, i);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

int image_index_list(ImageIndex *x, const char *name_prefix, const AppcLabel *labels,
                     size_t n_labels, size_t max, ImageInfo **ret, size_t *ret_n) {
        _cleanup_txn_ ImageIndex *txn = NULL;
        _cleanup_(strv_freep) char **keys = NULL;
        _cleanup_free_ char *json = NULL;
        ImageInfo *a = NULL;
        size_t n = 0;
        int n_filter, r;

        n_filter = labels_filter(labels, n_labels, &json);
        if (n_filter == -ENOENT) {      /* contradictory labels: an empty list */
                a = calloc(1, sizeof(ImageInfo));
                if (!a)
                        return -ENOMEM;
                *ret = a;
                *ret_n = 0;
                return 0;
        }
        if (n_filter < 0)
                return n_filter;
        r = txn_begin(x, &txn, false);
        if (r >= 0)
                r = list_keys(x, name_prefix, json, n_filter, max, &keys, &n);
        if (r >= 0)
                r = list_infos(x, keys, n, &a);
        if (r < 0)
                return r;
        r = txn_commit(&txn);
        if (r < 0) {
                image_info_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int write_one(ImageIndex *x, int which, const char *key, const uint64_t *usec) {
        _cleanup_txn_ ImageIndex *txn = NULL;
        int r;

        r = txn_begin(x, &txn, true);
        if (r < 0)
                return r;
        {
                _cleanup_stmt_ sqlite3_stmt *st = x->stmt[which];

                r = bind_text(x, st, 1, key);
                if (r >= 0 && usec)
                        r = bind_u64(x, st, 2, *usec);
                if (r >= 0)
                        r = stmt_step(x, st);
                if (r < 0)
                        return r;
                if (sqlite3_changes(x->db) == 0)
                        return -ENOENT;
        }
        return txn_commit(&txn);
}

int image_index_touch(ImageIndex *x, const char *key, uint64_t now_usec) {
        return write_one(x, STMT_TOUCH, key, &now_usec);
}

int image_index_remove(ImageIndex *x, const char *key) {
        return write_one(x, STMT_REMOVE, key, NULL);
}

int image_index_set_check_digest(ImageIndex *x, const char *key, const char *digest) {
        _cleanup_stmt_ sqlite3_stmt *st = x->stmt[STMT_SET_CHECK_DIGEST];
        int r;

        r = bind_text(x, st, 1, key);
        if (r >= 0)
                r = bind_text(x, st, 2, digest);
        if (r >= 0)
                r = stmt_step(x, st);
        if (r < 0)
                return r;
        return sqlite3_changes(x->db) > 0 ? 0 : -ENOENT;
}
