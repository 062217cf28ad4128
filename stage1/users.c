/* passwd/group parsing for app users. Files are read with a size cap; malformed lines are
 * skipped, as libc does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "users.h"
#include "util.h"

#define DB_MAX (4u * 1024u * 1024u)

/* Splits line into at most n ':'-separated fields; returns how many. */
static size_t split_fields(char *line, char **f, size_t n) {
        size_t k = 0;
        while (k < n) {
                f[k++] = line;
                line = strchr(line, ':');
                if (!line)
                        break;
                *line++ = '\0';
        }
        return k;
}

/* Finds the first entry whose field `key` is value; returns its fields through f. */
static int db_lookup(const char *path, size_t key, const char *value, char **text, char **f, size_t n) {
        int r = read_file_at(AT_FDCWD, path, DB_MAX, text, NULL);
        if (r < 0)
                return r;
        for (char *save = NULL, *line = strtok_r(*text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (split_fields(line, f, n) == n && strcmp(f[key], value) == 0)
                        return 0;
        }
        return -ESRCH;
}

static int user_fill(UserInfo *u, char **f) {
        u->name = strdup(f[0]);
        u->home = strdup(f[5]);
        u->shell = strdup(f[6]);
        if (!u->name || !u->home || !u->shell) {
                user_info_deinit(u);
                return -ENOMEM;
        }
        return 0;
}

static int owner_of(const char *path, uid_t *uid, gid_t *gid) {
        struct stat st;
        if (stat(path, &st) < 0)
                return NEG_ERRNO();
        *uid = st.st_uid;
        *gid = st.st_gid;
        return 0;
}

int user_resolve(const char *user, UserInfo *ret) {
        _cleanup_free_ char *text = NULL;
        char *f[7];
        uint32_t id;
        gid_t ignored;

        *ret = (UserInfo) {};
        if (db_lookup("/etc/passwd", 0, user, &text, f, 7) == 0 && parse_uint32(f[2], &id) == 0) {
                ret->uid = id;
                return user_fill(ret, f);
        }
        if (parse_uint32(user, &id) == 0 && id != UINT32_MAX) {
                char num[16];
                ret->uid = id;
                /* A number still gets the home and name its passwd entry gives, if any. */
                free(text);
                text = NULL;
                snprintf(num, sizeof(num), "%u", id);
                if (db_lookup("/etc/passwd", 2, num, &text, f, 7) == 0)
                        return user_fill(ret, f);
                return 0;
        }
        if (user[0] == '/')
                return owner_of(user, &ret->uid, &ignored);
        return -ESRCH;
}

void user_info_deinit(UserInfo *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        *u = (UserInfo) {};
}

int group_resolve(const char *group, gid_t *ret) {
        _cleanup_free_ char *text = NULL;
        char *f[4];
        uint32_t id;
        uid_t ignored;

        if (db_lookup("/etc/group", 0, group, &text, f, 4) == 0 && parse_uint32(f[2], &id) == 0) {
                *ret = id;
                return 0;
        }
        if (parse_uint32(group, &id) == 0 && id != UINT32_MAX) {
                *ret = id;
                return 0;
        }
        if (group[0] == '/')
                return owner_of(group, &ignored, ret);
        return -ESRCH;
}
