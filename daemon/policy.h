/* Policy: who may call what on stage0d, decided from the peer's credentials alone (read with
 * SO_PEERCRED / SO_PEERGROUPS at accept). uid 0 may call everything; members of the policy
 * group (by primary or supplementary gid) may call the read-only methods; everyone may call
 * org.varlink.service. Pure: no I/O, so it is tested directly. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "varlink-server.h"

typedef struct Policy {
        bool has_group;   /* false when the group does not exist: then only root is privileged */
        gid_t group;
} Policy;

/* Is method ("interface.Method") one that only reads state? */
bool policy_method_is_read_only(const char *method);
bool policy_peer_in_group(const Policy *p, const VarlinkPeer *peer);
bool policy_allows(const Policy *p, const VarlinkPeer *peer, const char *method);

/* The read-only methods, for tests and documentation; ends with NULL. */
extern const char *const policy_read_only_methods[];
