/* TPM measurement of what a pod runs (rkt's stage0 TPM extend, appc-rkt.md §7.1).
 *
 * Just before stage1 is exec'd, the pod's worker extends one PCR of the TPM with the SHA-256 of
 * an event text describing the pod, and appends the event to a measurement log, so that a
 * verifier can replay the log and compare the result with the PCR (or a quote of it).
 *
 * What stays true:
 * - A log line exists for every extend that the TPM confirmed, in the order of the extends:
 *   measurers of one log serialize on an flock of the log, held from just before the extend
 *   until the line is on disk. A line with "confirmed": false records an extend that was sent
 *   but whose answer never came (the PCR may or may not include it).
 * - No TPM costs about a millisecond and leaves the log untouched; a TPM that hangs costs at
 *   most the configured timeout: every TPM call runs in a forked child that is SIGKILLed at the
 *   deadline (tss2's own timeouts do not work, libraries.md §2).
 * - Nothing here prints: the child's stdio goes to /dev/null and TSS2_LOG is set to all+none.
 *
 * The event text is the seed's, byte for byte (run.go):
 *     "rkt: Rootfs: <root hash> Manifest: <pod manifest> Stage1 args: <argv joined by ' '>"
 * The root hash is empty when unknown (as in rkt's last release); the stage1 argv ends with the
 * pod UUID, so the text names the pod.
 *
 * The log is JSON lines, one per event, mode 0600 (pod manifests can carry secrets in app
 * environments), in <data dir>/tpm/measurements.log by default:
 *     {"pcr":15,"algorithm":"sha256","digest":"<64 hex: sha256(event)>",
 *      "event":"<base64 of the event text>","uuid":"<pod uuid>","timeUsec":<CLOCK_REALTIME µs>,
 *      "confirmed":true}
 * Replaying PCR p: start from 32 zero bytes; for each confirmed sha256 line of PCR p, in file
 * order, value = sha256(value ‖ digest). Lines of other PCRs or algorithms are skipped. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define TPM_TCTI_DEFAULT "device:/dev/tpmrm0"
#define TPM_PCR_DEFAULT 15u
#define TPM_TIMEOUT_USEC_DEFAULT (2u * 1000u * 1000u)
#define TPM_TIMEOUT_USEC_MAX (60u * 1000u * 1000u)      /* a pod never waits longer for its TPM */
/* PCRs 0..23 exist; 17..22 refuse extends from locality 0 (the TPM answers, we return -EIO). */
#define TPM_PCR_MAX 23u
#define TPM_EVENT_SIZE_MAX (16u * 1024u * 1024u)
/* A line holds the base64 of an event of at most TPM_EVENT_SIZE_MAX plus a few fields. */
#define TPM_LOG_LINE_MAX (TPM_EVENT_SIZE_MAX / 3u * 4u + 4096u)
#define TPM_LOG_NAME "tpm/measurements.log"

typedef struct TpmConfig {
        const char *tcti;               /* tss2 TCTI "name:conf"; never NULL (NULL probes a swtpm on :2321) */
        unsigned pcr;                   /* 0..TPM_PCR_MAX */
        uint64_t timeout_usec;          /* bound of the whole tpm_measure() call, 1..TPM_TIMEOUT_USEC_MAX */
        const char *log_path;           /* absolute; its directory is created (0700) if missing */
} TpmConfig;

/* "<data_dir>/tpm/measurements.log", malloc'd; NULL on OOM. */
char *tpm_log_path(const char *data_dir);

/* The event text above. root_hash may be NULL (empty). stage1_argv is NULL-terminated and has
 * at least argv[0]. -EINVAL for a missing argument, -E2BIG over TPM_EVENT_SIZE_MAX. */
int tpm_event_text(const char *root_hash, const char *pod_manifest, char *const *stage1_argv, char **ret);

/* Extends c->pcr with sha256(event_text) and appends the log line.
 * Returns 0 when measured; -ENODEV when there is no TPM behind c->tcti (the TCTI did not
 * initialize: nothing was sent, nothing logged); -ETIMEDOUT when the TPM or the log lock did not
 * answer before c->timeout_usec; -EIO when the TPM refused (bad PCR, TPM error) or the child
 * died; -EINVAL for a bad config, UUID or event; other negative errnos for the log.
 * Forks: call it from a process whose other threads hold no locks the child needs (malloc is
 * fork-safe in glibc), and do not reap its child from elsewhere (no waitpid(-1)). A child stuck
 * in the kernel past SIGKILL is left behind for the caller's reaper after a short wait. */
int tpm_measure(const TpmConfig *c, const char *uuid, const char *event_text);
/* Loads tss2 (daemon/tss2-dl.c) if it is not loaded yet: false when it cannot be. */
bool tpm_library_available(void);

/* One log line, '\n'-terminated, malloc'd into *ret. digest is sha256(event_text). */
int tpm_log_format(unsigned pcr, const uint8_t digest[32], const char *uuid, const char *event_text,
                   uint64_t time_usec, bool confirmed, char **ret);

/* Replays the log for pcr (see above) into ret_sha256, and the number of events replayed into
 * *ret_n (may be NULL). Waits for measurers to finish (shared flock). -ENOENT when there is no
 * log; -EBADMSG for a line that is not a valid event (bad JSON, missing or mistyped field, bad
 * base64, a digest that is not the sha256 of its event, a torn last line). */
int tpm_log_replay(const char *log_path, unsigned pcr, uint8_t ret_sha256[32], unsigned *ret_n);
