/* The `stop` entrypoint: `stop [--force] UUID`, run with CWD the pod directory. Sends
 * SIGTERM (graceful: the pod's PID 1 stops the apps, SIGKILL after its timeout) or SIGKILL
 * (--force: the whole PID namespace dies at once) to the PID in `pid`. A pod that no longer
 * holds its lock has exited: nothing to do. Exit codes: 0 done, 250 usage, 1 failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "args.h"
#include "exit-codes.h"
#include "util.h"

static bool pod_is_running(int poddir_fd) {
        if (flock(poddir_fd, LOCK_SH | LOCK_NB) == 0) {
                flock(poddir_fd, LOCK_UN);
                return false;
        }
        return errno == EWOULDBLOCK;
}

int main(int argc, char **argv) {
        _cleanup_close_ int poddir_fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        SimpleArgs a;
        char err[512] = "";
        int64_t pid;
        int r;

        log_setup("stage1-stop", false);
        r = simple_args_parse(&a, true, argc, argv, err, sizeof(err));
        if (r < 0) {
                log_error("%s", err[0] ? err : strerror(-r));
                simple_args_deinit(&a);
                return EXIT_STAGE1_USAGE;
        }
        poddir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (poddir_fd < 0) {
                log_error("cannot open the pod directory: %m");
                r = 1;
                goto out;
        }
        if (!pod_is_running(poddir_fd)) {
                log_debug("pod %s is not running", a.uuid);
                r = 0;
                goto out;
        }
        r = read_file_at(poddir_fd, "pid", 32, &text, NULL);
        if (r >= 0) {
                text[strcspn(text, "\n")] = '\0';
                r = parse_int64(text, &pid);
        }
        if (r < 0 || pid <= 1 || pid > INT32_MAX) {
                log_error("pod %s: no valid pid file", a.uuid);
                r = 1;
                goto out;
        }
        if (kill((pid_t) pid, a.force ? SIGKILL : SIGTERM) < 0 && errno != ESRCH) {
                log_error("pod %s: kill %lld: %m", a.uuid, (long long) pid);
                r = 1;
                goto out;
        }
        r = 0;
out:
        simple_args_deinit(&a);
        return r;
}
