/* Varlink addresses: "unix:/path", "unix:@abstract" or a bare path. Anything after ';' is a
 * parameter list that we do not understand and therefore ignore, as the spec asks. */
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

/* -EPROTONOSUPPORT for other transports (tcp:, device:), -EINVAL for an empty or relative
 * path, -ENAMETOOLONG when it does not fit sun_path. */
int varlink_address_parse(const char *address, struct sockaddr_un *ret, socklen_t *ret_len);

/* A connected stream socket (O_CLOEXEC, blocking) to address, or a negative errno. A local
 * connect either succeeds or fails at once (or waits briefly for backlog room). */
int varlink_address_connect(const char *address);
