/* Small filesystem helpers shared by the workers. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Removes path and everything below it, never following symlinks and never crossing into
 * another filesystem (a mount below path gives -EBUSY and is left alone). A missing path is
 * not an error. */
int rm_rf(const char *path);
/* Disk space used below path (st_blocks), 0 for a missing path. */
int disk_usage(const char *path, uint64_t *ret);
/* Writes a small file: a temp file beside it, fsynced and renamed over path. */
int write_file_atomic(const char *path, const char *content, mode_t mode);
/* 1 when dir is an empty directory, 0 when it has entries, -ENOENT/-ENOTDIR otherwise. */
int dir_is_empty(const char *dir);
