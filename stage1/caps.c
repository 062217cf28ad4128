/* Capability names and the bounding-set drop. The table follows linux/capability.h; numbers
 * beyond the running kernel's CAP_LAST_CAP are skipped when dropping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "util.h"

static const char *const cap_names[] = {
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
        "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
        "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
        "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
        "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int cap_from_name(const char *name) {
        if (strncmp(name, "CAP_", 4) != 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (strcmp(name + 4, cap_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

int cap_last(void) {
        _cleanup_free_ char *s = NULL;
        int64_t v;

        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &s, NULL) < 0)
                return CAP_LAST_CAP;
        s[strcspn(s, "\n")] = '\0';
        if (parse_int64(s, &v) < 0 || v < 0 || v > 63)
                return CAP_LAST_CAP;
        return (int) v;
}

int caps_restrict_bounding(uint64_t keep) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        int last = cap_last();

        for (int c = 0; c <= last; c++) {
                if (keep & (UINT64_C(1) << c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return NEG_ERRNO();
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return NEG_ERRNO();
        /* Clear the inheritable set, keep permitted and effective as they are: we still need
         * them until execve(2). */
        if (syscall(SYS_capget, &h, d) < 0)
                return NEG_ERRNO();
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0)
                return NEG_ERRNO();
        return 0;
}
