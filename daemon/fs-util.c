/* Filesystem helpers; see fs-util.h. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs-util.h"

#define NFTW_FDS 32

static dev_t rm_dev;
static int rm_error;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (st->st_dev != rm_dev) {
                rm_error = -EBUSY;
                return 0;
        }
        if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT &&
            !(type == FTW_DP && errno == ENOTEMPTY && rm_error < 0))
                rm_error = NEG_ERRNO();
        return 0;
}

int rm_rf(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : NEG_ERRNO();
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? NEG_ERRNO() : 0;
        /* nftw's callback has no user pointer; the workers are single-threaded. */
        rm_dev = st.st_dev;
        rm_error = 0;
        if (nftw(path, rm_one, NFTW_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return NEG_ERRNO();
        return rm_error;
}

static uint64_t du_total;

static int du_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        du_total += (uint64_t) st->st_blocks * 512u;
        return 0;
}

int disk_usage(const char *path, uint64_t *ret) {
        du_total = 0;
        if (nftw(path, du_one, NFTW_FDS, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
                return NEG_ERRNO();
        *ret = du_total;
        return 0;
}

int write_file_atomic(const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(content);
        int r;

        if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        if (fchmod(fd, mode) < 0 || write(fd, content, len) != (ssize_t) len || fsync(fd) < 0 ||
            rename(tmp, path) < 0) {
                r = errno ? NEG_ERRNO() : -EIO;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int dir_is_empty(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 1;

        if (!d)
                return NEG_ERRNO();
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        r = 0;
                        break;
                }
        closedir(d);
        return r;
}
