/* Users and groups of an app, resolved in the app's own root (call after pivot_root) by
 * reading its /etc/passwd and /etc/group: never through NSS, which would load host
 * libraries into a static binary. appc order: a name in the files, then a number, then
 * "/path" meaning the owner of that file. */
#pragma once

#include <sys/types.h>

typedef struct UserInfo {
        uid_t uid;
        char *name;   /* NULL when the user is not in /etc/passwd */
        char *home;
        char *shell;
} UserInfo;

int user_resolve(const char *user, UserInfo *ret);
void user_info_deinit(UserInfo *u);
int group_resolve(const char *group, gid_t *ret);
