/* bench-timer: wall-clock time of whole commands, run interleaved so that every command sees
 * the same machine load. Each round runs every command once, in the order given; warm-up
 * rounds come first and are not counted. Per command it prints the median, min, max and the
 * ratio of its median to the first command's (or --baseline's).
 *
 * A command is given as
 *   --name NAME [--setup SHELL] [--mntns FILE] [--stdout FILE] ARGV... ';'
 * --setup runs through /bin/sh before each of its runs and is not timed (removing what the
 * last run left behind, for example). --mntns makes the child join that mount namespace just
 * before exec (crun needs a private one here; see bench/README.md), which costs a few µs rather
 * than the exec of nsenter. The timed span is fork to waitpid, with no shell in between; the
 * command's output goes to /dev/null unless --stdout names a file. A command that exits
 * non-zero, or a setup that does, stops the bench with exit status 1. --raw FILE appends
 * "NAME ms" lines, one per timed run, so a script can pool several invocations. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define COMMANDS_MAX 32u
#define RUNS_MAX 100000u

typedef struct Command {
        const char *name;
        const char *setup;
        const char *mntns;
        const char *stdout_path;
        char **argv;                 /* borrowed from main's argv, NULL-terminated in place */
        double *ms;                  /* one per timed run */
} Command;

typedef struct Timer {
        Command commands[COMMANDS_MAX];
        unsigned n_commands;
        unsigned runs, warmup;
        const char *baseline;
        const char *raw_path;
} Timer;

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* In the child: never returns. */
static void child_exec(const Command *c) {
        int fd;

        if (c->mntns) {
                fd = open(c->mntns, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, CLONE_NEWNS) < 0) {
                        fprintf(stderr, "bench-timer: %s: joining %s: %m\n", c->name, c->mntns);
                        _exit(126);
                }
        }
        fd = open(c->stdout_path ? c->stdout_path : "/dev/null",
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
                fprintf(stderr, "bench-timer: %s: stdout: %m\n", c->name);
                _exit(126);
        }
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(126);
        execvp(c->argv[0], c->argv);
        _exit(127);
}

/* Runs argv once; returns its wall time in ms, or a negative errno / -ECHILD for a non-zero
 * exit. */
static int run_once(const Command *c, double *ret_ms) {
        uint64_t t0, t1;
        pid_t pid;
        int status;

        t0 = now_nsec();
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(c);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        t1 = now_nsec();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-timer: %s failed (%s %d); run it by hand to see why\n",
                        c->name, WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                return -ECHILD;
        }
        *ret_ms = (double) (t1 - t0) / 1e6;
        return 0;
}

static int run_setup(const Command *c) {
        pid_t pid;
        int status;

        if (!c->setup)
                return 0;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execl("/bin/sh", "sh", "-c", c->setup, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench-timer: setup of %s failed: %s\n", c->name, c->setup);
                return -ECHILD;
        }
        return 0;
}

static int run_rounds(Timer *t) {
        for (unsigned round = 0; round < t->warmup + t->runs; round++)
                for (unsigned i = 0; i < t->n_commands; i++) {
                        Command *c = &t->commands[i];
                        double ms = 0.0;
                        int r;

                        r = run_setup(c);
                        if (r < 0)
                                return r;
                        r = run_once(c, &ms);
                        if (r < 0)
                                return r;
                        if (round >= t->warmup)
                                c->ms[round - t->warmup] = ms;
                }
        return 0;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static double median_sorted(const double *v, unsigned n) {
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int write_raw(const Timer *t) {
        FILE *f;
        int r = 0;

        if (!t->raw_path)
                return 0;
        f = fopen(t->raw_path, "ae");
        if (!f)
                return -errno;
        for (unsigned i = 0; i < t->n_commands; i++)
                for (unsigned k = 0; k < t->runs; k++)
                        fprintf(f, "%s %.3f\n", t->commands[i].name, t->commands[i].ms[k]);
        if (fclose(f) != 0)
                r = -errno;
        return r;
}

static void print_table(Timer *t) {
        double base = 0.0;

        for (unsigned i = 0; i < t->n_commands; i++)
                qsort(t->commands[i].ms, t->runs, sizeof(double), compare_double);
        for (unsigned i = 0; i < t->n_commands; i++)
                if (i == 0 || (t->baseline && strcmp(t->commands[i].name, t->baseline) == 0))
                        base = median_sorted(t->commands[i].ms, t->runs);
        printf("%-24s %6s %10s %10s %10s %8s\n", "command", "runs", "median ms", "min ms",
               "max ms", "ratio");
        for (unsigned i = 0; i < t->n_commands; i++) {
                const Command *c = &t->commands[i];
                double med = median_sorted(c->ms, t->runs);

                printf("%-24s %6u %10.2f %10.2f %10.2f %8.2f\n", c->name, t->runs, med,
                       c->ms[0], c->ms[t->runs - 1], base > 0 ? med / base : 0.0);
        }
}

static int usage(int status) {
        fprintf(status ? stderr : stdout,
                "usage: bench-timer [--runs N] [--warmup N] [--baseline NAME] [--raw FILE]\n"
                "                   COMMAND...\n"
                "COMMAND: --name NAME [--setup SHELL] [--mntns FILE] [--stdout FILE] ARGV... ';'\n"
                "  --runs N        timed rounds (default 10)\n"
                "  --warmup N      untimed rounds first (default 1)\n"
                "  --baseline NAME the command the ratio column divides by (default the first)\n"
                "  --raw FILE      append 'NAME ms' per timed run\n");
        return status;
}

static int parse_unsigned(const char *s, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* Parses "--name NAME [opts] ARGV... ;" starting at argv[*i]; advances *i past the ';'. */
static int parse_command(Timer *t, int argc, char **argv, int *i) {
        Command *c;

        if (t->n_commands >= COMMANDS_MAX || *i + 1 >= argc)
                return -EINVAL;
        c = &t->commands[t->n_commands];
        *c = (Command) { .name = argv[*i + 1] };
        *i += 2;
        for (; *i + 1 < argc; *i += 2) {
                if (strcmp(argv[*i], "--setup") == 0)
                        c->setup = argv[*i + 1];
                else if (strcmp(argv[*i], "--mntns") == 0)
                        c->mntns = argv[*i + 1];
                else if (strcmp(argv[*i], "--stdout") == 0)
                        c->stdout_path = argv[*i + 1];
                else
                        break;
        }
        c->argv = argv + *i;
        for (; *i < argc && strcmp(argv[*i], ";") != 0; (*i)++)
                ;
        if (*i >= argc || argv + *i == c->argv)
                return -EINVAL;  /* no ';' or no ARGV */
        argv[(*i)++] = NULL;
        t->n_commands++;
        return 0;
}

static int parse_args(Timer *t, int argc, char **argv) {
        int i = 1;

        while (i < argc) {
                const char *a = argv[i];

                if (strcmp(a, "--name") == 0) {
                        if (parse_command(t, argc, argv, &i) < 0)
                                return -EINVAL;
                        continue;
                }
                if (i + 1 >= argc)
                        return -EINVAL;
                if (strcmp(a, "--runs") == 0) {
                        if (parse_unsigned(argv[i + 1], RUNS_MAX, &t->runs) < 0 || t->runs == 0)
                                return -EINVAL;
                } else if (strcmp(a, "--warmup") == 0) {
                        if (parse_unsigned(argv[i + 1], RUNS_MAX, &t->warmup) < 0)
                                return -EINVAL;
                } else if (strcmp(a, "--baseline") == 0)
                        t->baseline = argv[i + 1];
                else if (strcmp(a, "--raw") == 0)
                        t->raw_path = argv[i + 1];
                else
                        return -EINVAL;
                i += 2;
        }
        return t->n_commands > 0 ? 0 : -EINVAL;
}

int main(int argc, char **argv) {
        static Timer t = { .runs = 10, .warmup = 1 };
        int r;

        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
                return usage(0);
        if (parse_args(&t, argc, argv) < 0)
                return usage(2);
        for (unsigned i = 0; i < t.n_commands; i++) {
                t.commands[i].ms = calloc(t.runs, sizeof(double));
                if (!t.commands[i].ms)
                        return EXIT_FAILURE;
        }
        r = run_rounds(&t);
        if (r >= 0)
                r = write_raw(&t);
        if (r < 0) {
                if (r != -ECHILD)
                        fprintf(stderr, "bench-timer: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        print_table(&t);
        for (unsigned i = 0; i < t.n_commands; i++)
                free(t.commands[i].ms);
        return EXIT_SUCCESS;
}
