/* The command lines of the stage1 entrypoints (interface version 6, see
 * /work/shared/reference/appc-rkt.md §1.4, §1.7, §1.8). Parsing only validates and records;
 * deciding what is unsupported is the caller's job, so every accepted flag is visible here. */
#pragma once

#include <stdbool.h>

typedef enum NetMode {
        NET_HOST,
        NET_NONE,    /* new netns, loopback only */
        NET_DEFAULT, /* the same as none here: CNI networks are not implemented */
        _NET_MAX,
        _NET_INVALID = -22,
} NetMode;

typedef enum IpcMode {
        IPC_AUTO,
        IPC_PRIVATE,
        IPC_PARENT,
        _IPC_MAX,
        _IPC_INVALID = -22,
} IpcMode;

typedef enum ResolvMode {
        RESOLV_DEFAULT,
        RESOLV_HOST,
        RESOLV_STAGE0,
        RESOLV_NONE,
        _RESOLV_MAX,
        _RESOLV_INVALID = -22,
} ResolvMode;

typedef enum HostsMode {
        HOSTS_DEFAULT,
        HOSTS_HOST,
        HOSTS_STAGE0,
        _HOSTS_MAX,
        _HOSTS_INVALID = -22,
} HostsMode;

typedef struct RunArgs {
        bool debug;
        char *net;            /* the raw --net value, for messages */
        NetMode net_mode;
        bool interactive;
        char *private_users;
        char *mds_token;
        char *local_config;
        char *hostname;
        ResolvMode resolv_mode;
        HostsMode hosts_mode;
        bool disable_capabilities;
        bool disable_paths;
        bool disable_seccomp;
        bool mutable_pod;
        IpcMode ipc_mode;
        char *uuid;
} RunArgs;

typedef struct SimpleArgs {
        bool debug;
        bool force;          /* stop only */
        char *local_config;  /* gc only */
        char *uuid;
} SimpleArgs;

/* Returns 0, or -EINVAL with a message in err (a static or args-owned string) for a malformed
 * command line, or -EOPNOTSUPP for a well-formed option value this stage1 does not implement. */
int run_args_parse(RunArgs *a, int argc, char **argv, char *err, size_t err_size);
void run_args_deinit(RunArgs *a);

/* stop: [--force] UUID; gc: [--debug] [--local-config DIR] UUID. allow_force selects stop. */
int simple_args_parse(SimpleArgs *a, bool is_stop, int argc, char **argv, char *err, size_t err_size);
void simple_args_deinit(SimpleArgs *a);

const char *net_mode_to_string(NetMode m);
NetMode net_mode_from_string(const char *s);
const char *ipc_mode_to_string(IpcMode m);
IpcMode ipc_mode_from_string(const char *s);
const char *resolv_mode_to_string(ResolvMode m);
ResolvMode resolv_mode_from_string(const char *s);
const char *hosts_mode_to_string(HostsMode m);
HostsMode hosts_mode_from_string(const char *s);
