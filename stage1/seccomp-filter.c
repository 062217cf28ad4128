/* Seccomp filters from appc isolators. Group names follow appc (@appc.io/all, @appc.io/empty)
 * plus our default blacklist; rkt's and docker's groups are not provided and are refused
 * as unknown, so a pod never runs with a filter other than the one it asked for. */
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "seccomp-filter.h"
#include "util.h"

/* Syscalls that let a process escape or reconfigure its container or the host. */
static const char *const default_blacklist[] = {
        "_sysctl", "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
        "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
        "get_kernel_syms", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load",
        "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
        "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
        "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module",
        "quotactl", "reboot", "request_key", "setns", "settimeofday", "stime", "swapoff",
        "swapon", "sysfs", "syslog", "umount", "umount2", "unshare", "uselib", "userfaultfd",
        "ustat", "vm86", "vm86old",
};

static bool is_group(const char *s) {
        return s[0] == '@';
}

static bool group_known(const char *s) {
        return strcmp(s, "@appc.io/all") == 0 || strcmp(s, "@appc.io/empty") == 0 ||
               strcmp(s, SECCOMP_DEFAULT_GROUP) == 0;
}

int errno_from_name(const char *name) {
        /* Names glibc's strerrorname_np() never returns because they share a number. */
        static const struct { const char *name; int value; } aliases[] = {
                { "ENOTSUP", ENOTSUP }, { "EWOULDBLOCK", EWOULDBLOCK }, { "EDEADLOCK", EDEADLOCK },
        };
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (strcmp(name, aliases[i].name) == 0)
                        return aliases[i].value;
        for (int e = 1; e < 4096; e++) {
                const char *n = strerrorname_np(e);
                if (n && strcmp(n, name) == 0)
                        return e;
        }
        return -EINVAL;
}

int seccomp_spec_check(const SeccompSpec *s, const char **bad) {
        for (char **p = s->set; p && *p; p++) {
                if (is_group(*p) ? group_known(*p) : seccomp_syscall_resolve_name(*p) != __NR_SCMP_ERROR)
                        continue;
                *bad = *p;
                return -EINVAL;
        }
        return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, bool strict) {
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR)
                return strict ? -EINVAL : 0; /* the default group lists calls of other arches */
        return seccomp_rule_add(ctx, action, nr, 0);
}

static int add_set(scmp_filter_ctx ctx, uint32_t action, char **set) {
        int r;

        for (char **p = set; p && *p; p++) {
                if (strcmp(*p, "@appc.io/empty") == 0 || strcmp(*p, "@appc.io/all") == 0)
                        continue; /* handled through the default action */
                if (strcmp(*p, SECCOMP_DEFAULT_GROUP) == 0) {
                        for (size_t i = 0; i < ELEMENTSOF(default_blacklist); i++) {
                                r = add_rule(ctx, action, default_blacklist[i], false);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                r = add_rule(ctx, action, *p, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool set_has(char **set, const char *name) {
        for (char **p = set; p && *p; p++)
                if (strcmp(*p, name) == 0)
                        return true;
        return false;
}

int seccomp_spec_apply(const SeccompSpec *s) {
        uint32_t block = s->errno_value ? SCMP_ACT_ERRNO((uint32_t) s->errno_value) : SCMP_ACT_KILL_PROCESS;
        scmp_filter_ctx ctx;
        int r;

        if (s->mode == SECCOMP_MODE_NONE)
                return 0;
        if (s->mode == SECCOMP_MODE_RETAIN && set_has(s->set, "@appc.io/all"))
                return 0; /* everything retained: no filter */
        if (s->mode == SECCOMP_MODE_REMOVE && set_has(s->set, "@appc.io/all"))
                ctx = seccomp_init(block);
        else
                ctx = seccomp_init(s->mode == SECCOMP_MODE_RETAIN ? block : SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        /* libseccomp would set no_new_privs itself; whether an app gets it is the
         * no-new-privileges isolator's business (the caller sets it when needed). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                ;
        else if (s->mode == SECCOMP_MODE_RETAIN)
                r = add_set(ctx, SCMP_ACT_ALLOW, s->set);
        else if (set_has(s->set, "@appc.io/all"))
                r = 0;
        else
                r = add_set(ctx, block, s->set);
        /* Keep the filter of the calling process's native arch only: foreign-arch syscalls
         * (x32, i386 on amd64) are blocked by libseccomp's default bad-arch action. */
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}
