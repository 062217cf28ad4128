/* The seccomp filter of an app (appc os/linux/seccomp-retain-set and -remove-set), built
 * with libseccomp. A retain set allows only the listed syscalls, a remove set blocks them;
 * blocked calls fail with errno when one is given and kill the process (SIGSYS) otherwise.
 * With no seccomp isolator stage1 applies SECCOMP_DEFAULT_GROUP as a remove set with EPERM. */
#pragma once

#include <stdbool.h>

typedef enum SeccompMode {
        SECCOMP_MODE_NONE,   /* --disable-seccomp */
        SECCOMP_MODE_RETAIN,
        SECCOMP_MODE_REMOVE,
} SeccompMode;

#define SECCOMP_DEFAULT_GROUP "@stage0/default-blacklist"

typedef struct SeccompSpec {
        SeccompMode mode;
        char **set;   /* syscall names and @groups */
        int errno_value; /* 0: kill the process */
} SeccompSpec;

/* 0 when every entry is a syscall known on this architecture or a group we define;
 * otherwise -EINVAL and *bad points at the offending entry. */
int seccomp_spec_check(const SeccompSpec *s, const char **bad);
/* Errno by name ("EPERM"); -EINVAL if unknown. */
int errno_from_name(const char *name);
/* Loads the filter into the current process; the caller has set no_new_privs or holds
 * CAP_SYS_ADMIN. */
int seccomp_spec_apply(const SeccompSpec *s);
