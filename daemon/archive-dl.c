/* libarchive, loaded when a worker first needs it (an import or a render) rather than when
 * every worker starts. Debian's libarchive brings libxml2, ICU and libstdc++ with it, and
 * their symbol relocations were most of a worker's start-up: a pod whose trees are rendered
 * never needs them. Each libarchive function we use is defined here with its exact prototype
 * (the headers check them) and calls the real one, looked up on first use. The binary does not
 * link libarchive; a process that does (a unit test) gets these, which call the same library. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <archive.h>
#include <archive_entry.h>

#include "archive-dl.h"

#define LIBARCHIVE_SONAME "libarchive.so.13"

static void *library;
static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* Lazy: libstdc++'s functions (a thousand of them, pulled in through libxml2 and ICU) are
 * never called by what we use, and resolving them at load was a third of the load's time. */
static void library_open(void) {
        library = dlopen(LIBARCHIVE_SONAME, RTLD_LAZY | RTLD_LOCAL);
}

static void *preload_thread(void *arg) {
        pthread_once(&library_once, library_open);
        return NULL;
}

void archive_dl_preload(void) {
        pthread_attr_t attr;
        pthread_t thread;

        if (pthread_attr_init(&attr) != 0)
                return;
        if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0)
                (void) pthread_create(&thread, &attr, preload_thread, NULL);
        pthread_attr_destroy(&attr);
}

/* A libarchive that cannot be loaded is a broken installation (it is a package dependency):
 * the worker cannot do its job, and says why on its way out. */
static void *symbol(const char *name) {
        void *p;

        pthread_once(&library_once, library_open);
        p = library ? dlsym(library, name) : NULL;
        if (!p) {
                fprintf(stderr, "stage0-worker: cannot load %s from %s: %s\n", name,
                        LIBARCHIVE_SONAME, dlerror());
                abort();
        }
        return p;
}

#define REAL(name)                                                                      \
        static __typeof__(&name) real;                                                  \
        __typeof__(&name) f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);                 \
        if (!f) {                                                                       \
                f = (__typeof__(&name)) symbol(#name);                                  \
                __atomic_store_n(&real, f, __ATOMIC_RELEASE);                           \
        }

#define WRAP(ret, name, params, args)   \
        ret name params {               \
                REAL(name);             \
                return f args;          \
        }

#define WRAP_VOID(name, params, args)   \
        void name params {              \
                REAL(name);             \
                f args;                 \
        }

typedef struct archive A;
typedef struct archive_entry E;

WRAP(A *, archive_read_new, (void), ())
WRAP(int, archive_read_free, (A *a), (a))
WRAP(int, archive_read_support_filter_bzip2, (A *a), (a))
WRAP(int, archive_read_support_filter_gzip, (A *a), (a))
WRAP(int, archive_read_support_filter_xz, (A *a), (a))
WRAP(int, archive_read_support_filter_zstd, (A *a), (a))
WRAP(int, archive_read_support_format_raw, (A *a), (a))
WRAP(int, archive_read_support_format_tar, (A *a), (a))
WRAP(int, archive_read_open, (A *a, void *data, archive_open_callback *o, archive_read_callback *r,
                              archive_close_callback *c), (a, data, o, r, c))
WRAP(int, archive_read_next_header, (A *a, E **e), (a, e))
WRAP(la_ssize_t, archive_read_data, (A *a, void *buf, size_t size), (a, buf, size))
WRAP(int, archive_read_data_block, (A *a, const void **buf, size_t *size, la_int64_t *offset),
     (a, buf, size, offset))
WRAP(const char *, archive_error_string, (A *a), (a))
WRAP(time_t, archive_entry_atime, (E *e), (e))
WRAP(int, archive_entry_atime_is_set, (E *e), (e))
WRAP(long, archive_entry_atime_nsec, (E *e), (e))
WRAP(time_t, archive_entry_mtime, (E *e), (e))
WRAP(int, archive_entry_mtime_is_set, (E *e), (e))
WRAP(long, archive_entry_mtime_nsec, (E *e), (e))
WRAP(__LA_MODE_T, archive_entry_filetype, (E *e), (e))
WRAP(la_int64_t, archive_entry_gid, (E *e), (e))
WRAP(la_int64_t, archive_entry_uid, (E *e), (e))
WRAP(la_int64_t, archive_entry_size, (E *e), (e))
WRAP(const char *, archive_entry_hardlink, (E *e), (e))
WRAP(__LA_MODE_T, archive_entry_mode, (E *e), (e))
WRAP(dev_t, archive_entry_rdev, (E *e), (e))
WRAP(const char *, archive_entry_symlink, (E *e), (e))
WRAP(int, archive_entry_acl_types, (E *e), (e))
WRAP(int, archive_entry_acl_reset, (E *e, int want_type), (e, want_type))
WRAP(int, archive_entry_acl_next, (E *e, int want_type, int *type, int *permset, int *tag, int *qual,
                                   const char **name), (e, want_type, type, permset, tag, qual, name))
WRAP(int, archive_entry_xattr_count, (E *e), (e))
WRAP(int, archive_entry_xattr_reset, (E *e), (e))
WRAP(int, archive_entry_xattr_next, (E *e, const char **name, const void **value, size_t *size),
     (e, name, value, size))
WRAP(const char *, archive_entry_pathname, (E *e), (e))
WRAP_VOID(archive_entry_set_gid, (E *e, la_int64_t v), (e, v))
WRAP_VOID(archive_entry_set_uid, (E *e, la_int64_t v), (e, v))
WRAP_VOID(archive_entry_set_hardlink, (E *e, const char *s), (e, s))
WRAP_VOID(archive_entry_set_pathname, (E *e, const char *s), (e, s))

/* Variadic: formatted here, handed on as one string. */
void archive_set_error(A *a, int error, const char *format, ...) {
        char buf[512];
        va_list ap;

        REAL(archive_set_error);
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        f(a, error, "%s", buf);
}
