/* What the image store's parts share: the store object, and the lock under which blobs are
 * published and removed. image-store.c opens, resolves and lists; image-store-import.c
 * imports (and is the only part that needs libarchive, so stage0d itself can do without it). */
#pragma once

#include "image-index.h"
#include "image-store.h"

struct ImageStore {
        char *path;             /* <data>/images */
        int dir_fd;             /* images/ */
        int blobs_fd;           /* images/blobs/sha512/ */
        int tmp_fd;             /* images/tmp/ */
        int lock_fd;            /* images/lock: publishing and removal */
        ImageIndex *index;
};

/* The store lock (images/lock), exclusive; release with image_store_unlockp. */
int image_store_lock(ImageStore *s, int *ret);
void image_store_unlockp(int *fd);
/* Opens (creating, 0700) a directory below dir_fd. */
int image_store_open_dir_at(int dir_fd, const char *path, int *ret);
