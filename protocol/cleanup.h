/* Scope-bound cleanup helpers shared by every layer.
 * A function either uses these attributes or a single goto exit, never both. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _taken = (p);     \
                (p) = NULL;                     \
                _taken;                         \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _taken = (fd);              \
                (fd) = -EBADF;                  \
                _taken;                         \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define NEG_ERRNO() (errno > 0 ? -errno : -EIO)
