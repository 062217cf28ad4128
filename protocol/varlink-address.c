/* Parses varlink addresses into AF_UNIX socket addresses; see varlink-address.h. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "varlink-address.h"

int varlink_address_parse(const char *address, struct sockaddr_un *ret, socklen_t *ret_len) {
        const char *path = address;
        size_t len;

        if (!address)
                return -EINVAL;
        if (strncmp(address, "unix:", 5) == 0)
                path = address + 5;
        else if (address[0] != '/' && address[0] != '@')
                return strchr(address, ':') ? -EPROTONOSUPPORT : -EINVAL;

        len = strcspn(path, ";");
        if (len == 0 || (path[0] != '/' && path[0] != '@'))
                return -EINVAL;
        if (len > sizeof(ret->sun_path) - 1)
                return -ENAMETOOLONG;

        memset(ret, 0, sizeof(*ret));
        ret->sun_family = AF_UNIX;
        memcpy(ret->sun_path, path, len);
        if (path[0] == '@') {
                /* Abstract namespace: a leading NUL and no terminator counted in the length. */
                ret->sun_path[0] = '\0';
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
        } else {
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        }
        return 0;
}

int varlink_address_connect(const char *address) {
        struct sockaddr_un sa;
        socklen_t salen;
        int fd, r;

        r = varlink_address_parse(address, &sa, &salen);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        while (connect(fd, (const struct sockaddr *) &sa, salen) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        close(fd);
                        return r;
                }
        return fd;
}
