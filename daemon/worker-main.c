/* stage0-worker's entry point. stage0d starts it for one job with its end of a socket pair as
 * fd 3: `stage0-worker --data-dir DIR [--debug]`. Not meant to be run by hand. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "config.h"
#include "log.h"
#include "worker.h"

#define WORKER_FD 3

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "data-dir", required_argument, NULL, 'd' },
                { "debug",    no_argument,       NULL, 'D' },
                { "version",  no_argument,       NULL, 'V' },
                {}
        };
        const char *data_dir = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        data_dir = optarg;
                        break;
                case 'D':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'V':
                        printf("stage0-worker %s\n", STAGE0_VERSION);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        if (!data_dir || data_dir[0] != '/' || optind < argc) {
                fprintf(stderr, "stage0-worker: started by stage0d only: --data-dir DIR, fd 3\n");
                return 2;
        }
        return worker_main(data_dir, WORKER_FD);
}
