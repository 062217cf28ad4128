/* The `gc` entrypoint: `gc [--debug] [--local-config DIR] UUID`. Removes what stage1 made
 * outside the pod directory: the pod's cgroups. Idempotent: a second run finds nothing to
 * do. Exit codes: 0 done, 250 usage, 1 something could not be removed (said on stderr). */
#include <errno.h>
#include <string.h>

#include "args.h"
#include "cgroup.h"
#include "exit-codes.h"
#include "util.h"

int main(int argc, char **argv) {
        SimpleArgs a;
        char err[512] = "";
        int r;

        log_setup("stage1-gc", false);
        r = simple_args_parse(&a, false, argc, argv, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err[0] ? err : strerror(-r));
                simple_args_deinit(&a);
                return EXIT_STAGE1_USAGE;
        }
        log_setup("stage1-gc", a.debug);
        r = cgroup_remove_pod(a.uuid, err, sizeof(err));
        if (r < 0)
                log_error("pod %s: %s", a.uuid, err);
        else
                log_debug("pod %s: cgroups removed", a.uuid);
        simple_args_deinit(&a);
        return r < 0 ? 1 : 0;
}
