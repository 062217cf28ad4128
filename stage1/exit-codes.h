/* The exit codes of the stage1 programs, as documented in stage1/README.md. Codes below 250
 * from `init` are an app's own exit code (or 128 + signal when it was killed). */
#pragma once

enum {
        EXIT_STAGE1_USAGE       = 250, /* malformed or unknown argument */
        EXIT_STAGE1_UNSUPPORTED = 251, /* a valid interface option this stage1 does not implement */
        EXIT_STAGE1_INVALID_POD = 252, /* pod manifest, image manifest, isolator or volume refused */
        EXIT_STAGE1_SETUP       = 253, /* host-side setup failed: lock fd, namespaces, cgroups */
        EXIT_STAGE1_APP_SETUP   = 254, /* an app could not be started (also its recorded status) */
};
