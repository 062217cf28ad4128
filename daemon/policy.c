/* The access policy of stage0d. The read-only table lists every method that only reads state
 * and may therefore be called by members of the policy group; any method not listed is
 * treated as mutating, so a new method is root-only until it is added here. */
#include <string.h>

#include "policy.h"

const char *const policy_read_only_methods[] = {
        "io.stage0.Images.List",
        "io.stage0.Images.Inspect",
        "io.stage0.Images.Verify",
        "io.stage0.Pods.Status",
        "io.stage0.Pods.List",
        "io.stage0.Pods.Wait",
        "io.stage0.Pods.Watch",
        "io.stage0.Pods.Logs",
        NULL,
};

static bool method_is_service(const char *method) {
        static const char prefix[] = "org.varlink.service.";

        return strncmp(method, prefix, sizeof(prefix) - 1) == 0;
}

bool policy_method_is_read_only(const char *method) {
        for (size_t i = 0; policy_read_only_methods[i]; i++)
                if (strcmp(policy_read_only_methods[i], method) == 0)
                        return true;
        return false;
}

bool policy_peer_in_group(const Policy *p, const VarlinkPeer *peer) {
        if (!p->has_group)
                return false;
        if (peer->gid == p->group)
                return true;
        for (size_t i = 0; i < peer->n_groups; i++)
                if (peer->groups[i] == p->group)
                        return true;
        return false;
}

bool policy_allows(const Policy *p, const VarlinkPeer *peer, const char *method) {
        if (!method)
                return false;
        if (method_is_service(method))
                return true;
        if (peer->uid == 0)
                return true;
        return policy_method_is_read_only(method) && policy_peer_in_group(p, peer);
}
