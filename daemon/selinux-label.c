/* SELinux labels of a pod; see selinux-label.h. Every libselinux call that reads or writes a
 * label sits behind selinux_label_enabled(); the context_* string helpers are pure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <selinux/context.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "selinux-label.h"

#define MCS_RANDOM_TRIES 64
#define TREE_DEPTH_MAX 256

bool selinux_label_enabled(void) {
        return is_selinux_enabled() > 0;
}

SelinuxLabels *selinux_labels_free(SelinuxLabels *l) {
        if (!l)
                return NULL;
        free(l->process);
        free(l->mount);
        free(l);
        return NULL;
}

static int parse_category(const char *s, const char **end, unsigned *ret) {
        unsigned v = 0;
        const char *p = s;

        if (*p++ != 'c' || *p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned) (*p - '0');
                if (v >= SELINUX_MCS_CATEGORIES)
                        return -EINVAL;
        }
        *end = p;
        *ret = v;
        return 0;
}

int selinux_label_mcs_pair(const char *label, McsPair *ret) {
        const char *p = strrchr(label, ':');
        unsigned a, b;

        p = p ? p + 1 : label;
        if (parse_category(p, &p, &a) < 0 || *p++ != ',' || parse_category(p, &p, &b) < 0 ||
            *p != '\0' || a == b)
                return -EINVAL;
        *ret = (McsPair) { a < b ? a : b, a < b ? b : a };
        return 0;
}

static uint32_t random_default(void *userdata) {
        uint32_t v;

        if (getrandom(&v, sizeof(v), 0) == sizeof(v))
                return v;
        return (uint32_t) random();   /* getrandom cannot fail once the pool is up */
}

static size_t pair_index(McsPair p) {
        return (size_t) p.x * SELINUX_MCS_CATEGORIES + p.y;
}

static bool bit_test(const uint8_t *map, size_t i) {
        return map[i / 8] & (1u << (i % 8));
}

/* Scans every pair once from a random start: the answer when random draws keep hitting used
 * pairs, and the proof that none is free. */
static int pick_by_scan(const uint8_t *used, uint32_t start, McsPair *ret) {
        const size_t n = (size_t) SELINUX_MCS_CATEGORIES * SELINUX_MCS_CATEGORIES;

        for (size_t k = 0; k < n; k++) {
                size_t i = (start + k) % n;
                McsPair p = { i / SELINUX_MCS_CATEGORIES, i % SELINUX_MCS_CATEGORIES };

                if (p.x < p.y && !bit_test(used, i)) {
                        *ret = p;
                        return 0;
                }
        }
        return -ENOSPC;
}

int selinux_mcs_pick(const char *const *used, size_t n_used, McsRandomFn rnd, void *userdata,
                     McsPair *ret) {
        _cleanup_free_ uint8_t *map = NULL;

        if (!rnd)
                rnd = random_default;
        map = calloc((size_t) SELINUX_MCS_CATEGORIES * SELINUX_MCS_CATEGORIES / 8, 1);
        if (!map)
                return -ENOMEM;
        for (size_t i = 0; i < n_used; i++) {
                McsPair p;

                if (used[i] && selinux_label_mcs_pair(used[i], &p) == 0)
                        map[pair_index(p) / 8] |= (uint8_t) (1u << (pair_index(p) % 8));
        }
        for (int t = 0; t < MCS_RANDOM_TRIES; t++) {
                /* 2^32 is a multiple of 1024: no modulo bias */
                unsigned a = rnd(userdata) % SELINUX_MCS_CATEGORIES;
                unsigned b = rnd(userdata) % SELINUX_MCS_CATEGORIES;
                McsPair p = { a < b ? a : b, a < b ? b : a };

                if (a != b && !bit_test(map, pair_index(p))) {
                        *ret = p;
                        return 0;
                }
        }
        return pick_by_scan(map, rnd(userdata), ret);
}

static bool context_is_valid(const char *s) {
        const char *p = s;

        if (strpbrk(s, " \t\r\n\"'\\"))
                return false;
        /* user, role and type are non-empty; a level, if any, follows the type */
        for (int field = 0; field < 3; field++) {
                size_t n = strcspn(p, ":");

                if (n == 0)
                        return false;
                p += n;
                if (field < 2 && *p++ != ':')
                        return false;
        }
        return *p == '\0' || (p[0] == ':' && p[1] != '\0');
}

static char *trim(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = '\0';
        return s;
}

static char *unquote(char *s) {
        size_t n = strlen(s);

        if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
                s[n - 1] = '\0';
                return s + 1;
        }
        return s;
}

/* Handles one line; stores a copy of the value in *process or *file when the key is one of
 * those. */
static int lxc_line(char *line, char **process, char **file) {
        char *eq, *key, *value, **slot;

        line = trim(line);
        if (line[0] == '\0' || line[0] == '#')
                return 0;
        eq = strchr(line, '=');
        if (!eq)
                return -EBADMSG;
        *eq = '\0';
        key = trim(line);
        value = unquote(trim(eq + 1));
        slot = strcmp(key, "process") == 0 ? process : strcmp(key, "file") == 0 ? file : NULL;
        if (!slot)
                return 0;
        if (!context_is_valid(value))
                return -EBADMSG;
        free(*slot);
        *slot = strdup(value);
        return *slot ? 0 : -ENOMEM;
}

int selinux_lxc_contexts_parse(const char *text, char **ret_process, char **ret_file) {
        _cleanup_free_ char *copy = strdup(text), *process = NULL, *file = NULL;
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                r = lxc_line(line, &process, &file);
                if (r < 0)
                        return r;
        }
        if (!process && !(process = strdup(SELINUX_DEFAULT_PROCESS)))
                return -ENOMEM;
        if (!file && !(file = strdup(SELINUX_DEFAULT_FILE)))
                return -ENOMEM;
        *ret_process = TAKE_PTR(process);
        *ret_file = TAKE_PTR(file);
        return 0;
}

int selinux_lxc_contexts_load(const char *path, char **ret_process, char **ret_file) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0 && (!path || errno == ENOENT))
                return selinux_lxc_contexts_parse("", ret_process, ret_file);
        if (fd < 0)
                return NEG_ERRNO();
        buf = malloc(SELINUX_LXC_CONTEXTS_MAX + 1);
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, SELINUX_LXC_CONTEXTS_MAX + 1);
        if (n < 0)
                return NEG_ERRNO();
        if (n > SELINUX_LXC_CONTEXTS_MAX || memchr(buf, '\0', (size_t) n))
                return -EBADMSG;
        buf[n] = '\0';
        return selinux_lxc_contexts_parse(buf, ret_process, ret_file);
}

static int with_range(const char *base, const char *range, char **ret) {
        context_t c = context_new(base);
        const char *s;
        int r = 0;

        if (!c)
                return -EINVAL;
        if (context_range_set(c, range) != 0 || !(s = context_str(c)))
                r = -EINVAL;
        else if (!(*ret = strdup(s)))
                r = -ENOMEM;
        context_free(c);
        return r;
}

int selinux_labels_build(const char *process_base, const char *file_base, McsPair pair,
                         char **ret_process, char **ret_mount) {
        _cleanup_free_ char *process = NULL, *mount = NULL;
        char range[32];
        int r;

        if (pair.x >= pair.y || pair.y >= SELINUX_MCS_CATEGORIES)
                return -EINVAL;
        snprintf(range, sizeof(range), "s0:c%u,c%u", pair.x, pair.y);
        r = with_range(process_base, range, &process);
        if (r < 0)
                return r;
        r = with_range(file_base, range, &mount);
        if (r < 0)
                return r;
        *ret_process = TAKE_PTR(process);
        *ret_mount = TAKE_PTR(mount);
        return 0;
}

static int labels_enabled(SelinuxLabels *l, const char *const *used, size_t n_used) {
        _cleanup_free_ char *process = NULL, *file = NULL;
        McsPair pair;
        int r;

        r = selinux_lxc_contexts_load(selinux_lxc_contexts_path(), &process, &file);
        if (r < 0)
                return r;
        r = selinux_mcs_pick(used, n_used, NULL, NULL, &pair);
        if (r < 0)
                return r;
        return selinux_labels_build(process, file, pair, &l->process, &l->mount);
}

int selinux_labels_new(SelinuxLabels **ret, const char *const *used, size_t n_used) {
        SelinuxLabels *l = calloc(1, sizeof(*l));
        int r;

        if (!l)
                return -ENOMEM;
        if (selinux_label_enabled())
                r = labels_enabled(l, used, n_used);
        else
                r = (l->process = strdup("")) && (l->mount = strdup("")) ? 0 : -ENOMEM;
        if (r < 0) {
                selinux_labels_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

int selinux_label_path(const char *path, const char *label) {
        if (!label || !*label || !selinux_label_enabled())
                return 0;
        return lsetfilecon(path, label) < 0 ? NEG_ERRNO() : 0;
}

static int walk_dir(int dirfd, const char *path, dev_t dev, int depth, const char *label,
                    SelinuxLabelFn fn, void *userdata);

/* Labels one entry of the directory dirfd and descends into it when it is a directory on the
 * same filesystem; entries on another filesystem (mount points) are left alone. */
static int walk_entry(int dirfd, const char *parent, const char *name, dev_t dev, int depth,
                      const char *label, SelinuxLabelFn fn, void *userdata) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        if (st.st_dev != dev)
                return 0;
        if (asprintf(&path, "%s/%s", parent, name) < 0)
                return -ENOMEM;
        r = fn(path, label, userdata);
        if (r < 0 || !S_ISDIR(st.st_mode))
                return r;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        return walk_dir(TAKE_FD(fd), path, dev, depth + 1, label, fn, userdata);
}

/* Takes ownership of dirfd. */
static int walk_dir(int dirfd, const char *path, dev_t dev, int depth, const char *label,
                    SelinuxLabelFn fn, void *userdata) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > TREE_DEPTH_MAX) {
                close(dirfd);
                return -ELOOP;
        }
        d = fdopendir(dirfd);
        if (!d) {
                r = NEG_ERRNO();
                close(dirfd);
                return r;
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = walk_entry(dirfd, path, de->d_name, dev, depth, label, fn, userdata);
        }
        if (r >= 0 && errno != 0)
                r = NEG_ERRNO();
        closedir(d);
        return r;
}

int selinux_label_tree_with(const char *root, const char *label, SelinuxLabelFn fn,
                            void *userdata) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (lstat(root, &st) < 0)
                return NEG_ERRNO();
        r = fn(root, label, userdata);
        if (r < 0 || !S_ISDIR(st.st_mode))
                return r;
        fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        return walk_dir(TAKE_FD(fd), root, st.st_dev, 0, label, fn, userdata);
}

static int set_one(const char *path, const char *label, void *userdata) {
        return lsetfilecon(path, label) < 0 ? NEG_ERRNO() : 0;
}

int selinux_label_tree(const char *root, const char *label) {
        if (!label || !*label || !selinux_label_enabled())
                return 0;
        return selinux_label_tree_with(root, label, set_one, NULL);
}
