/* cgroup v1/v2 handling for stage1 (see reference/libraries.md §9 for the hybrid layout).
 * Every path is built from validated names (a UUID, an ACName), so none can escape the
 * hierarchy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

typedef struct Hierarchy {
        char path[64];
        bool v2;
} Hierarchy;

static bool unified_has(const char *root, const char *ctrl) {
        _cleanup_free_ char *list = NULL;
        char path[128];

        snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
        if (read_file_at(AT_FDCWD, path, 4096, &list, NULL) < 0)
                return false;
        for (char *save = NULL, *w = strtok_r(list, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
                if (strcmp(w, ctrl) == 0)
                        return true;
        return false;
}

static int hierarchy_find(const char *ctrl, Hierarchy *h) {
        struct statfs sfs;
        struct stat st;

        if (statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                if (!unified_has(CGROUP_ROOT, ctrl))
                        return -EOPNOTSUPP;
                snprintf(h->path, sizeof(h->path), CGROUP_ROOT);
                h->v2 = true;
                return 0;
        }
        if (unified_has(CGROUP_ROOT "/unified", ctrl)) {
                snprintf(h->path, sizeof(h->path), CGROUP_ROOT "/unified");
                h->v2 = true;
                return 0;
        }
        snprintf(h->path, sizeof(h->path), CGROUP_ROOT "/%s", ctrl);
        h->v2 = false;
        if (stat(h->path, &st) < 0 || !S_ISDIR(st.st_mode))
                return -EOPNOTSUPP;
        return 0;
}

static int knob_write(const char *dir, const char *knob, unsigned long long v) {
        char path[256], value[64];

        snprintf(path, sizeof(path), "%s/%s", dir, knob);
        snprintf(value, sizeof(value), "%llu", v);
        return write_string_file(path, value);
}

/* v2 only lets a cgroup's children use a controller its parent enabled for them. */
static int v2_enable(const char *dir, const char *ctrl) {
        char path[256], value[32];
        int r;

        snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
        snprintf(value, sizeof(value), "+%s", ctrl);
        r = write_string_file(path, value);
        return r == -EBUSY ? 0 : r; /* already enabled below is reported as busy by some kernels */
}

/* Creates stage0/<uuid>/<app> in the hierarchy, enabling the controller on the way for v2. */
static int make_dirs(const Hierarchy *h, const char *ctrl, const char *uuid, const char *app,
                     char *pod_dir, char *app_dir, size_t size) {
        char stage0_dir[128];
        int r;

        snprintf(stage0_dir, sizeof(stage0_dir), "%s/stage0", h->path);
        snprintf(pod_dir, size, "%s/%s", stage0_dir, uuid);
        snprintf(app_dir, size, "%s/%s", pod_dir, app);
        if (h->v2 && (r = v2_enable(h->path, ctrl)) < 0)
                return r;
        if (mkdir(stage0_dir, 0755) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        if (h->v2 && (r = v2_enable(stage0_dir, ctrl)) < 0)
                return r;
        if (mkdir(pod_dir, 0755) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        if (h->v2 && (r = v2_enable(pod_dir, ctrl)) < 0)
                return r;
        if (mkdir(app_dir, 0755) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        return 0;
}

static int set_memory(const Hierarchy *h, const char *dir, uint64_t limit) {
        char memsw[256];
        int r;

        if (h->v2)
                return knob_write(dir, "memory.max", limit);
        r = knob_write(dir, "memory.limit_in_bytes", limit);
        if (r < 0)
                return r;
        /* Without this the limit only pushes the app into swap. */
        snprintf(memsw, sizeof(memsw), "%s/memory.memsw.limit_in_bytes", dir);
        if (access(memsw, F_OK) == 0)
                return knob_write(dir, "memory.memsw.limit_in_bytes", limit);
        return 0;
}

static int set_cpu(const Hierarchy *h, const char *dir, const Isolators *iso) {
        const unsigned long long period = 100000;
        int r;

        if (iso->has_cpu_limit) {
                unsigned long long quota = iso->cpu_limit_milli * period / 1000;
                if (quota < 1000)
                        quota = 1000; /* the kernel's minimum */
                if (h->v2) {
                        char path[256], value[64];
                        snprintf(path, sizeof(path), "%s/cpu.max", dir);
                        snprintf(value, sizeof(value), "%llu %llu", quota, period);
                        r = write_string_file(path, value);
                } else {
                        r = knob_write(dir, "cpu.cfs_period_us", period);
                        if (r >= 0)
                                r = knob_write(dir, "cpu.cfs_quota_us", quota);
                }
                if (r < 0)
                        return r;
        }
        if (iso->has_cpu_shares) {
                if (h->v2)
                        return knob_write(dir, "cpu.weight", 1 + ((iso->cpu_shares - 2) * 9999) / 262142);
                return knob_write(dir, "cpu.shares", iso->cpu_shares);
        }
        return 0;
}

static int setup_memory(const char *uuid, const char *app, const Isolators *iso, const Isolators *pod) {
        char pod_dir[192], app_dir[256];
        Hierarchy h;
        int r;

        r = hierarchy_find("memory", &h);
        if (r >= 0)
                r = make_dirs(&h, "memory", uuid, app, pod_dir, app_dir, sizeof(app_dir));
        if (r >= 0 && pod->has_memory_limit)
                r = set_memory(&h, pod_dir, pod->memory_limit);
        if (r >= 0 && iso->has_memory_limit)
                r = set_memory(&h, app_dir, iso->memory_limit);
        return r;
}

static int setup_cpu(const char *uuid, const char *app, const Isolators *iso, const Isolators *pod) {
        char pod_dir[192], app_dir[256];
        Hierarchy h;
        int r;

        r = hierarchy_find("cpu", &h);
        if (r >= 0)
                r = make_dirs(&h, "cpu", uuid, app, pod_dir, app_dir, sizeof(app_dir));
        if (r >= 0)
                r = set_cpu(&h, pod_dir, pod);
        if (r >= 0)
                r = set_cpu(&h, app_dir, iso);
        return r;
}

int cgroup_setup(const char *uuid, const char *app, const Isolators *iso, const Isolators *pod,
                 char *err, size_t err_size) {
        int r;

        if (iso->has_memory_limit || pod->has_memory_limit) {
                r = setup_memory(uuid, app, iso, pod);
                if (r < 0) {
                        snprintf(err, err_size, "isolator resource/memory: cannot apply through the memory cgroup: %s",
                                 strerror(-r));
                        return r;
                }
        }
        if (iso->has_cpu_limit || iso->has_cpu_shares || pod->has_cpu_limit || pod->has_cpu_shares) {
                r = setup_cpu(uuid, app, iso, pod);
                if (r < 0) {
                        bool limit = iso->has_cpu_limit || pod->has_cpu_limit;
                        snprintf(err, err_size, "isolator %s: cannot apply through the cpu cgroup: %s",
                                 limit ? "resource/cpu" : "os/linux/cpu-shares", strerror(-r));
                        return r;
                }
        }
        return 0;
}

static const char *const controllers[] = { "memory", "cpu" };

int cgroup_join(const char *uuid, const char *app) {
        for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
                char path[256];
                Hierarchy h;
                int r;

                if (hierarchy_find(controllers[i], &h) < 0)
                        continue;
                snprintf(path, sizeof(path), "%s/stage0/%s/%s/cgroup.procs", h.path, uuid, app);
                if (access(path, F_OK) < 0)
                        continue;
                r = write_string_file(path, "0");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A cgroup directory holds only kernel files and child cgroups: rmdir the children first. */
static int remove_tree(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        int r = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        d = fdopendir(fd);
        if (!d)
                return NEG_ERRNO();
        fd = -EBADF;
        for (struct dirent *de; (de = readdir(d)); ) {
                char child[512];
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(child, sizeof(child), "%s/%s", dir, de->d_name);
                int k = remove_tree(child);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
                r = NEG_ERRNO();
        return r;
}

int cgroup_remove_pod(const char *uuid, char *err, size_t err_size) {
        static const char *const bases[] = {
                CGROUP_ROOT, CGROUP_ROOT "/unified", CGROUP_ROOT "/memory", CGROUP_ROOT "/cpu",
        };
        int ret = 0;

        for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
                char dir[256];
                int r;

                snprintf(dir, sizeof(dir), "%s/stage0/%s", bases[i], uuid);
                r = remove_tree(dir);
                if (r < 0 && ret == 0) {
                        snprintf(err, err_size, "cannot remove cgroup %s: %s", dir, strerror(-r));
                        ret = r;
                }
        }
        return ret;
}
