/* The per-app shim: a child of the pod's PID 1 that gives one app its mount namespace,
 * cgroups and root filesystem, then runs the pre-start handler, the app (forwarding stop
 * signals to it) and the post-stop handler, and exits with the app's exit code (128 + signal
 * when the app was killed; EXIT_STAGE1_APP_SETUP when the app could not be started). Every
 * process it execs gets the app's environment, user, working directory and isolators. */
#pragma once

#include "args.h"
#include "isolators.h"
#include "pod.h"

typedef struct AppContext {
        const char *pod_dir;
        const char *uuid;
        const char *hostname;
        const RunArgs *args;
        const App *app;
        const Isolators *iso;
} AppContext;

_Noreturn void app_shim_run(const AppContext *c);

/* The exit code for a wait status: the code itself, or 128 + the signal. */
int exit_code_from_status(int status);
