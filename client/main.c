/* stage0c's entry point: parses the command line, then hands over to the command. All the
 * behaviour lives in client_core, which the unit tests link too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "options.h"
#include "output.h"

static void command_help_print(const Command *c) {
        printf("  %s%s%s\n      ", c->syntax.name, c->syntax.usage[0] ? " " : "", c->syntax.usage);
        for (const char *p = c->summary; *p; p++)
                if (*p == '\n')
                        fputs("\n      ", stdout);
                else
                        fputc(*p, stdout);
        fputc('\n', stdout);
}

static void help_print(void) {
        printf("Usage: %s [OPTIONS] COMMAND [ARGUMENTS]\n\n"
               "Talk to stage0d, the stage0 pod runtime daemon, over varlink.\n\n"
               "Commands:\n", PROGRAM_NAME);
        for (size_t i = 0; i < n_commands; i++)
                command_help_print(commands[i]);
        printf("\nOptions (before or after the command):\n"
               "  --socket ADDRESS   varlink address or socket path (default: $STAGE0_SOCKET,\n"
               "                     else unix:%s)\n"
               "  --json             machine-readable output; errors also as JSON on stdout\n"
               "  --timeout SECONDS  how long to wait for each reply, or \"infinity\" (default: %d)\n"
               "  -h, --help         show this help\n"
               "  --version          show the version\n"
               "\nExit status:\n",
               STAGE0_DEFAULT_SOCKET, OPTIONS_TIMEOUT_DEFAULT_SEC);
        for (int s = 0; s < _EXIT_STATUS_MAX; s++)
                printf("  %d  %s\n", s, exit_status_description((ExitStatus) s));
}

int main(int argc, char *argv[]) {
        Options options;
        char error[512] = "";
        ExitStatus status;
        int r;

        r = options_parse(&options, argc, argv, getenv("STAGE0_SOCKET"), command_syntax_find,
                          error, sizeof(error));
        if (r == -EINVAL) {
                fprintf(stderr, "%s: %s\nTry '%s --help'.\n", PROGRAM_NAME, error, PROGRAM_NAME);
                return EXIT_STATUS_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", PROGRAM_NAME, strerror(-r));
                return EXIT_STATUS_USAGE;
        }

        if (options.help) {
                help_print();
                status = EXIT_STATUS_SUCCESS;
        } else if (options.version) {
                printf("%s %s\n", PROGRAM_NAME, STAGE0_VERSION);
                status = EXIT_STATUS_SUCCESS;
        } else
                status = command_from_syntax(options.command)->run(&options);

        options_done(&options);
        if (fflush(stdout) != 0 && status == EXIT_STATUS_SUCCESS) {
                fprintf(stderr, "%s: cannot write output: %m\n", PROGRAM_NAME);
                status = EXIT_STATUS_CONNECTION;
        }
        return status;
}
