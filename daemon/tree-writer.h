/* TreeWriter: puts the entries a render selected into a tree dir, with their owners, modes,
 * setuid bits, extended attributes, POSIX ACLs and times.
 *
 * It replaces libarchive's disk writer, which resolves every path from the top and stats the
 * target before each create: for a render the selection already decided what may be written
 * where (see tree-render.h), so the writer only has to create. Paths are resolved once per
 * directory, kernel-checked with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and each
 * entry is created relative to its parent's descriptor; a symlink, a ".." or an absolute name
 * anywhere in a path fails the entry (ELOOP, EXDEV) instead of being followed.
 *
 * Call order per entry: begin, data (regular files, any number of times), end. Then close
 * once, which sets the directories' times (last, as creating their children changed them).
 * Functions return 0 or a negative errno; -EOPNOTSUPP for an entry type or ACL kind that
 * cannot be written (sockets, NFSv4 ACLs), -ERANGE for an ACL id outside the shifted range. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct archive_entry;

typedef struct TreeWriter TreeWriter;

typedef struct TreeWriterOptions {
        /* Added to the ids named by ACL entries, and the owner of directories made because
         * something below them was written; entry owners are the caller's to shift. */
        uid_t id_shift;
        uint32_t id_count;          /* with id_shift: ids must be below this; 0 = no limit */
} TreeWriterOptions;

/* dir_fd: the tree dir, borrowed; dir: its path (for extended attributes of symlinks and
 * device nodes, which have no descriptor to set them through). */
int tree_writer_new(TreeWriter **ret, int dir_fd, const char *dir,
                    const TreeWriterOptions *options);
TreeWriter *tree_writer_free(TreeWriter *w);

/* path: a clean path relative to the tree dir ("rootfs/bin/sh"). Missing parents are made
 * (0755, owned by the shifted root). A hardlink's target (archive_entry_hardlink) must be a
 * clean path of a non-directory already written. e must stay valid until tree_writer_end. An
 * existing directory is only an error when the entry is not a directory. */
int tree_writer_begin(TreeWriter *w, struct archive_entry *e, const char *path);
/* Data of a regular file at offset (holes of a sparse file are left unwritten). */
int tree_writer_data(TreeWriter *w, const void *buf, size_t size, int64_t offset);
int tree_writer_end(TreeWriter *w);
int tree_writer_close(TreeWriter *w);
