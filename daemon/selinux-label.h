/* SELinux labels of a pod: the process label the stage1 runs with and the mount label of its
 * overlays and files, "<base>:s0:cX,cY" with a category pair no live pod uses.
 *
 * What stays true: with SELinux disabled (is_selinux_enabled() <= 0) the labels are empty
 * strings and no libselinux label call is made at all -- on such a host setfilecon() would
 * "succeed" and leave a junk security.selinux xattr. The parsing and building steps are pure
 * functions so they are testable on any host.
 *
 * Uniqueness: libselinux has no MCS allocator, so the caller passes the labels of the pods that
 * are alive (it can read them from the pods' RKT_SELINUX_CONTEXT records) and must hold one
 * data-dir-wide lock from gathering them until the new pod's label is recorded, so two workers
 * cannot pick the same pair. Labels of dead pods need no clean-up that way. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SELINUX_MCS_CATEGORIES 1024     /* c0..c1023 */
#define SELINUX_DEFAULT_PROCESS "system_u:system_r:container_t:s0"
#define SELINUX_DEFAULT_FILE "system_u:object_r:container_file_t:s0"
#define SELINUX_LXC_CONTEXTS_MAX (64 * 1024)

typedef struct SelinuxLabels {
        char *process;  /* "" when SELinux is disabled */
        char *mount;    /* "" when SELinux is disabled */
} SelinuxLabels;

typedef struct McsPair {
        unsigned x, y;  /* x < y < SELINUX_MCS_CATEGORIES */
} McsPair;

/* A source of random numbers; the default reads getrandom(2). Tests pass their own. */
typedef uint32_t (*McsRandomFn)(void *userdata);

/* is_selinux_enabled() > 0: the one gate of every label operation. */
bool selinux_label_enabled(void);

/* The labels of a new pod: when disabled, both "" and nothing else is done. Otherwise base
 * contexts from selinux_lxc_contexts_path() (built-in defaults when that file is missing) and
 * a pair that none of used[0..n_used) has. -EBADMSG for a malformed contexts file, -ENOSPC
 * when every pair is used. */
int selinux_labels_new(SelinuxLabels **ret, const char *const *used, size_t n_used);
SelinuxLabels *selinux_labels_free(SelinuxLabels *l);

/* The category pair of a label ("...:s0:c3,c7", or a bare level "s0:c3,c7"), -EINVAL when it
 * has none. Pure. */
int selinux_label_mcs_pair(const char *label, McsPair *ret);

/* A random pair that none of used has (labels without a pair are ignored). rnd NULL means
 * getrandom(2). -ENOSPC when all 523776 pairs are taken. Pure but for the random source. */
int selinux_mcs_pick(const char *const *used, size_t n_used, McsRandomFn rnd, void *userdata,
                     McsPair *ret);

/* Parses lxc_contexts text: lines `key = "value"` (quotes optional, '#' comments); takes the
 * "process" and "file" keys and ignores others. A key that is absent gets the built-in
 * default. -EBADMSG for a line without '=' or a value that is not a context
 * (user:role:type[:level], no whitespace or quotes). Pure. */
int selinux_lxc_contexts_parse(const char *text, char **ret_process, char **ret_file);
/* The same from a file; a missing file yields both defaults. */
int selinux_lxc_contexts_load(const char *path, char **ret_process, char **ret_file);

/* Replaces the range of both bases with "s0:cX,cY" (context_new/context_range_set; pure
 * string handling in libselinux, safe without SELinux). -EINVAL for a bad base. */
int selinux_labels_build(const char *process_base, const char *file_base, McsPair pair,
                         char **ret_process, char **ret_mount);

/* Sets label on path (not following a symlink at path). No-op returning 0 when SELinux is
 * disabled or label is NULL or "". */
int selinux_label_path(const char *path, const char *label);

/* Called for every entry of a tree; returns 0 or a negative errno that stops the walk. */
typedef int (*SelinuxLabelFn)(const char *path, const char *label, void *userdata);

/* Sets label on root and everything below it, never following symlinks and never entering
 * another filesystem. No-op when SELinux is disabled or label is empty. */
int selinux_label_tree(const char *root, const char *label);
/* The walk of selinux_label_tree with fn instead of lsetfilecon, and no SELinux gate (the
 * caller's fn decides); root first, then each directory's entries before descending. */
int selinux_label_tree_with(const char *root, const char *label, SelinuxLabelFn fn,
                            void *userdata);
