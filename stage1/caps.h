/* Linux capabilities by appc name ("CAP_CHOWN"), and applying a capability set to the
 * current process before it execs an app. Sets are bitmasks of capability numbers. */
#pragma once

#include <stdint.h>

#define CAPS_DEFAULT_APPC ( \
        (UINT64_C(1) << 29) /* AUDIT_WRITE */ | (UINT64_C(1) << 0) /* CHOWN */ | \
        (UINT64_C(1) << 1) /* DAC_OVERRIDE */ | (UINT64_C(1) << 4) /* FSETID */ | \
        (UINT64_C(1) << 3) /* FOWNER */ | (UINT64_C(1) << 5) /* KILL */ | \
        (UINT64_C(1) << 27) /* MKNOD */ | (UINT64_C(1) << 13) /* NET_RAW */ | \
        (UINT64_C(1) << 10) /* NET_BIND_SERVICE */ | (UINT64_C(1) << 7) /* SETUID */ | \
        (UINT64_C(1) << 6) /* SETGID */ | (UINT64_C(1) << 8) /* SETPCAP */ | \
        (UINT64_C(1) << 31) /* SETFCAP */ | (UINT64_C(1) << 18) /* SYS_CHROOT */)

/* Returns the capability number, or -EINVAL for an unknown name. */
int cap_from_name(const char *name);
int cap_last(void);

/* Drops every capability outside keep from the bounding set and clears the inheritable and
 * ambient sets. Call it while still privileged, before changing uid: a uid-0 app then gets
 * exactly keep at execve(2), a non-zero uid gets nothing. */
int caps_restrict_bounding(uint64_t keep);
