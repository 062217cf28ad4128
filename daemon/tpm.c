/* TPM measurement of what a pod runs; see tpm.h.
 *
 * tpm_measure() talks to the TPM only through a forked child, over a socketpair, one byte per
 * step, so that the parent can give up at its deadline whatever tss2 does:
 *     child -> 'N'  the TCTI did not initialize: no TPM
 *     child -> 'I'  the TPM is open; the child waits for the parent's go
 *     parent -> 'G' the parent holds the log lock: extend now
 *     child -> 'E'  extended          'F' the TPM refused (or Esys_Initialize failed)
 * Opening the TPM before taking the log lock keeps a TPM-less machine from creating the log,
 * and keeps the lock held only around the extend and the append. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "cleanup.h"
#include "hex.h"
#include "pod-state.h"
#include "tpm.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_LEN)
/* How long a SIGKILLed child gets to disappear before it is left to the caller's reaper. */
#define REAP_WAIT_USEC (100u * 1000u)
#define LOCK_RETRY_USEC (2u * 1000u)
#define CHILD_FD 3

enum {
        STEP_NO_TPM = 'N',
        STEP_OPEN = 'I',
        STEP_GO = 'G',
        STEP_EXTENDED = 'E',
        STEP_FAILED = 'F',
};

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int sha256(const void *data, size_t size, uint8_t ret[SHA256_LEN]) {
        unsigned len = 0;

        if (!EVP_Digest(data, size, ret, &len, EVP_sha256(), NULL) || len != SHA256_LEN)
                return -ENOMEM;
        return 0;
}

char *tpm_log_path(const char *data_dir) {
        char *p;

        return asprintf(&p, "%s/%s", data_dir, TPM_LOG_NAME) < 0 ? NULL : p;
}

int tpm_event_text(const char *root_hash, const char *pod_manifest, char *const *stage1_argv, char **ret) {
        static const char head[] = "rkt: Rootfs: ", manifest[] = " Manifest: ", args[] = " Stage1 args: ";
        size_t size;
        char *text, *p;

        if (!pod_manifest || !stage1_argv || !stage1_argv[0] || !ret)
                return -EINVAL;
        if (!root_hash)
                root_hash = "";

        size = strlen(head) + strlen(root_hash) + strlen(manifest) + strlen(pod_manifest) + strlen(args);
        for (char *const *a = stage1_argv; *a; a++) {
                size += strlen(*a) + 1;
                if (size > TPM_EVENT_SIZE_MAX)
                        return -E2BIG;
        }
        if (size > TPM_EVENT_SIZE_MAX)
                return -E2BIG;

        text = malloc(size + 1);
        if (!text)
                return -ENOMEM;
        p = stpcpy(stpcpy(stpcpy(stpcpy(stpcpy(text, head), root_hash), manifest), pod_manifest), args);
        for (char *const *a = stage1_argv; *a; a++) {
                if (a != stage1_argv)
                        *p++ = ' ';
                p = stpcpy(p, *a);
        }
        *ret = text;
        return 0;
}

static int config_check(const TpmConfig *c, const char *uuid, const char *event_text) {
        if (!c || !c->tcti || !c->tcti[0] || strlen(c->tcti) > PATH_MAX)
                return -EINVAL;
        if (c->pcr > TPM_PCR_MAX || c->timeout_usec == 0 || c->timeout_usec > TPM_TIMEOUT_USEC_MAX)
                return -EINVAL;
        if (!c->log_path || c->log_path[0] != '/')
                return -EINVAL;
        if (!pod_uuid_valid(uuid) || !event_text || strlen(event_text) > TPM_EVENT_SIZE_MAX)
                return -EINVAL;
        return 0;
}

/* ---- the child: every tss2 call happens here ---- */

static void child_send(char step) {
        (void) !send(CHILD_FD, &step, 1, MSG_NOSIGNAL);
}

/* Leaves the child with only the channel (as fd 3) and /dev/null as stdio, so a child that
 * outlives its SIGKILL in the kernel holds none of the caller's pipes or locks open. */
static int child_isolate(int fd) {
        int null;

        if (dup2(fd, CHILD_FD) < 0)
                return -1;
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return -1;
        for (int i = 0; i < 3; i++)
                if (dup2(null, i) < 0)
                        return -1;
        /* Best effort: without close_range (Linux < 5.9) only a child stuck past its SIGKILL
         * would hold the fds a little longer. */
        (void) close_range(CHILD_FD + 1, ~0u, 0);
        return 0;
}

static _Noreturn void child_measure(int fd, pid_t parent, const char *tcti, unsigned pcr,
                                    const uint8_t digest[SHA256_LEN]) {
        TSS2_TCTI_CONTEXT *t = NULL;
        ESYS_CONTEXT *e = NULL;
        TPML_DIGEST_VALUES dv = { .count = 1 };
        char go = 0;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent || child_isolate(fd) < 0)
                _exit(EXIT_FAILURE);
        setenv("TSS2_LOG", "all+none", 1);

        /* tss2 is loaded here, not by every worker; without it we cannot tell whether there
         * is a TPM, so it is a failure, not "no TPM". */
        if (!tpm_library_available()) {
                child_send(STEP_FAILED);
                _exit(EXIT_SUCCESS);
        }
        if (Tss2_TctiLdr_Initialize(tcti, &t) != TSS2_RC_SUCCESS) {
                child_send(STEP_NO_TPM);
                _exit(EXIT_SUCCESS);
        }
        if (Esys_Initialize(&e, t, NULL) != TSS2_RC_SUCCESS) {
                child_send(STEP_FAILED);
                _exit(EXIT_SUCCESS);
        }
        child_send(STEP_OPEN);
        if (read(CHILD_FD, &go, 1) != 1 || go != STEP_GO)
                _exit(EXIT_FAILURE);

        dv.digests[0].hashAlg = TPM2_ALG_SHA256;
        memcpy(dv.digests[0].digest.sha256, digest, SHA256_LEN);
        child_send(Esys_PCR_Extend(e, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &dv)
                   == TSS2_RC_SUCCESS ? STEP_EXTENDED : STEP_FAILED);
        /* No Esys_Finalize: the answer is in, and a finalize is one more call that could hang;
         * exiting closes the connection just as well. */
        _exit(EXIT_SUCCESS);
}

/* ---- the parent ---- */

typedef struct Measurer {
        pid_t pid;
        int fd;
        uint64_t deadline;      /* CLOCK_MONOTONIC µs */
} Measurer;

static int measurer_start(Measurer *m, const TpmConfig *c, const uint8_t digest[SHA256_LEN]) {
        int pair[2];
        pid_t parent = getpid();

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        m->pid = fork();
        if (m->pid < 0) {
                int r = -errno;

                close(pair[0]);
                close(pair[1]);
                return r;
        }
        if (m->pid == 0)
                child_measure(pair[1], parent, c->tcti, c->pcr, digest);
        close(pair[1]);
        m->fd = pair[0];
        return 0;
}

/* Kills the child (a no-op when it has exited) and reaps it, waiting at most REAP_WAIT_USEC. */
static void measurer_stop(Measurer *m) {
        uint64_t until = now_usec(CLOCK_MONOTONIC) + REAP_WAIT_USEC;

        if (m->fd >= 0) {
                close(m->fd);
                m->fd = -EBADF;
        }
        if (m->pid <= 0)
                return;
        kill(m->pid, SIGKILL);
        for (;;) {
                pid_t r = waitpid(m->pid, NULL, WNOHANG);

                if (r != 0 || now_usec(CLOCK_MONOTONIC) >= until)
                        break;     /* reaped, ECHILD (SIGCHLD ignored), or left behind */
                usleep(1000);
        }
        m->pid = 0;
}

/* Milliseconds left until deadline, rounded up; -1 when it has passed. */
static int ms_left(uint64_t deadline) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), ms;

        if (now >= deadline)
                return -1;
        ms = (deadline - now + 999) / 1000;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

/* Waits for the child's next step. -ETIMEDOUT at the deadline, -EIO when the child died. */
static int measurer_recv(Measurer *m, char *ret) {
        for (;;) {
                struct pollfd p = { .fd = m->fd, .events = POLLIN };
                int ms = ms_left(m->deadline), r;
                ssize_t n;

                if (ms < 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, ms);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                n = read(m->fd, ret, 1);
                if (n == 1)
                        return 0;
                if (n == 0)
                        return -EIO;
                if (errno != EINTR && errno != EAGAIN)
                        return -errno;
        }
}

static int mkdir_parent(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Opens the log for appending and locks it exclusively, retrying the lock until the deadline. */
static int log_open_locked(const char *path, uint64_t deadline, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r = mkdir_parent(path);

        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                usleep(LOCK_RETRY_USEC);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int write_all(int fd, const char *s, size_t size) {
        while (size > 0) {
                ssize_t n = write(fd, s, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                s += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Makes the locked log end with a newline: a torn last line (a crash mid-append) then stays one
 * bad line instead of also corrupting the next one. */
static int log_end_line(int fd) {
        struct stat st;
        char last = '\n';

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
                return -EIO;
        return last == '\n' ? 0 : write_all(fd, "\n", 1);
}

static int log_write(int fd, const char *line) {
        int r = write_all(fd, line, strlen(line));

        if (r < 0)
                return r;
        return fsync(fd) < 0 ? -errno : 0;
}

/* The extend and its log line. All that can fail on our side is done before the go, so that a
 * confirmed extend is followed only by a write and an fsync. */
static int measure_extend(Measurer *m, int log_fd, const TpmConfig *c, const uint8_t digest[SHA256_LEN],
                          const char *uuid, const char *event_text) {
        _cleanup_free_ char *line = NULL, *unconfirmed = NULL;
        uint64_t now = now_usec(CLOCK_REALTIME);
        char step = STEP_GO;
        int r;

        r = tpm_log_format(c->pcr, digest, uuid, event_text, now, true, &line);
        if (r >= 0)
                r = tpm_log_format(c->pcr, digest, uuid, event_text, now, false, &unconfirmed);
        if (r >= 0)
                r = log_end_line(log_fd);
        if (r < 0)
                return r;

        /* MSG_NOSIGNAL: a child that died must not take the caller down with SIGPIPE. */
        if (send(m->fd, &step, 1, MSG_NOSIGNAL) != 1)
                return -EIO;
        r = measurer_recv(m, &step);
        if (r == -ETIMEDOUT) {
                int k = log_write(log_fd, unconfirmed);

                return k < 0 ? k : r;
        }
        if (r < 0)
                return r;
        if (step != STEP_EXTENDED)
                return -EIO;
        return log_write(log_fd, line);
}

int tpm_measure(const TpmConfig *c, const char *uuid, const char *event_text) {
        Measurer m = { .fd = -EBADF };
        _cleanup_close_ int log_fd = -EBADF;
        uint8_t digest[SHA256_LEN];
        char step;
        int r;

        r = config_check(c, uuid, event_text);
        if (r < 0)
                return r;
        /* A device TCTI whose node does not exist has no TPM behind it: say so without
         * forking a measurer, which is most hosts on every pod start. */
        if (strncmp(c->tcti, "device:", 7) == 0 && access(c->tcti + 7, F_OK) < 0 && errno == ENOENT)
                return -ENODEV;
        r = sha256(event_text, strlen(event_text), digest);
        if (r < 0)
                return r;

        m.deadline = now_usec(CLOCK_MONOTONIC) + c->timeout_usec;
        r = measurer_start(&m, c, digest);
        if (r < 0)
                return r;
        r = measurer_recv(&m, &step);
        if (r >= 0)
                r = step == STEP_NO_TPM ? -ENODEV : step == STEP_OPEN ? 0 : -EIO;
        if (r >= 0)
                r = log_open_locked(c->log_path, m.deadline, &log_fd);
        if (r >= 0)
                r = measure_extend(&m, log_fd, c, digest, uuid, event_text);
        measurer_stop(&m);
        return r;
}

int tpm_log_format(unsigned pcr, const uint8_t digest[32], const char *uuid, const char *event_text,
                   uint64_t time_usec, bool confirmed, char **ret) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *b64 = NULL;
        char hex[SHA256_HEX_LEN + 1];
        size_t size;
        const char *s;
        char *line;

        if (pcr > TPM_PCR_MAX || !digest || !pod_uuid_valid(uuid) || !event_text || !ret ||
            time_usec > INT64_MAX)
                return -EINVAL;
        size = strlen(event_text);
        if (size > TPM_EVENT_SIZE_MAX)
                return -E2BIG;
        b64 = malloc((size + 2) / 3 * 4 + 1);
        if (!b64)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) event_text, (int) size);
        hex_encode(digest, SHA256_LEN, hex);

        o = json_object_new_object();
        if (!o ||
            json_object_object_add(o, "pcr", json_object_new_int((int) pcr)) < 0 ||
            json_object_object_add(o, "algorithm", json_object_new_string("sha256")) < 0 ||
            json_object_object_add(o, "digest", json_object_new_string(hex)) < 0 ||
            json_object_object_add(o, "event", json_object_new_string(b64)) < 0 ||
            json_object_object_add(o, "uuid", json_object_new_string(uuid)) < 0 ||
            json_object_object_add(o, "timeUsec", json_object_new_int64((int64_t) time_usec)) < 0 ||
            json_object_object_add(o, "confirmed", json_object_new_boolean(confirmed)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&line, "%s\n", s) < 0)
                return -ENOMEM;
        *ret = line;
        return 0;
}

/* ---- replay ---- */

typedef struct LogEvent {
        unsigned pcr;
        bool sha256;
        bool confirmed;
        uint8_t digest[SHA256_LEN];
} LogEvent;

static const char *field_string(json_object *o, const char *name) {
        json_object *v;

        if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int hex_decode(const char *s, uint8_t *ret, size_t size) {
        if (strlen(s) != 2 * size)
                return -EBADMSG;
        for (size_t i = 0; i < 2 * size; i++) {
                const char *d = strchr("0123456789abcdef", s[i]);

                if (!s[i] || !d)
                        return -EBADMSG;
                if (i % 2 == 0)
                        ret[i / 2] = (uint8_t) ((d - "0123456789abcdef") << 4);
                else
                        ret[i / 2] |= (uint8_t) (d - "0123456789abcdef");
        }
        return 0;
}

/* The event's sha256, from its base64: the check that the digest belongs to the event. */
static int event_digest(const char *b64, uint8_t ret[SHA256_LEN]) {
        size_t len = strlen(b64), pad = 0;
        _cleanup_free_ unsigned char *raw = NULL;
        int n;

        if (len % 4 != 0 || len > (size_t) TPM_EVENT_SIZE_MAX / 3 * 4 + 4)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", b64[i]) ||
                    (b64[i] == '=' && (i < len - 2 || b64[len - 1] != '=')))
                        return -EBADMSG;
        pad = len > 0 && b64[len - 1] == '=' ? (len > 1 && b64[len - 2] == '=' ? 2 : 1) : 0;
        raw = malloc(len / 4 * 3 + 1);
        if (!raw)
                return -ENOMEM;
        n = EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) len);
        if (n < 0 || (size_t) n < pad)
                return -EBADMSG;
        return sha256(raw, (size_t) n - pad, ret);
}

static void json_tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* One JSON object filling the whole line (only its '\n' after it). */
static json_object *parse_line(const char *line, size_t len) {
        _cleanup_(json_tokener_freep) json_tokener *t = json_tokener_new();
        json_object *o;

        if (!t || len > INT_MAX)
                return NULL;
        o = json_tokener_parse_ex(t, line, (int) len);
        if (o && (json_tokener_get_error(t) != json_tokener_success ||
                  strspn(line + json_tokener_get_parse_end(t), " \t\r\n") !=
                  len - json_tokener_get_parse_end(t))) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int log_event_parse(const char *line, size_t len, LogEvent *ret) {
        _cleanup_json_ json_object *o = parse_line(line, len);
        json_object *pcr, *confirmed, *tu;
        const char *algorithm, *digest, *event;
        uint8_t computed[SHA256_LEN];
        int64_t p;
        int r;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "pcr", &pcr) || !json_object_is_type(pcr, json_type_int) ||
            !json_object_object_get_ex(o, "timeUsec", &tu) || !json_object_is_type(tu, json_type_int) ||
            !json_object_object_get_ex(o, "confirmed", &confirmed) ||
            !json_object_is_type(confirmed, json_type_boolean))
                return -EBADMSG;
        p = json_object_get_int64(pcr);
        algorithm = field_string(o, "algorithm");
        digest = field_string(o, "digest");
        event = field_string(o, "event");
        if (p < 0 || p > TPM_PCR_MAX || !algorithm || !digest || !event ||
            !pod_uuid_valid(field_string(o, "uuid")))
                return -EBADMSG;

        *ret = (LogEvent) {
                .pcr = (unsigned) p,
                .sha256 = strcmp(algorithm, "sha256") == 0,
                .confirmed = json_object_get_boolean(confirmed),
        };
        if (!ret->sha256)
                return 0;       /* another bank: not ours to check */
        r = hex_decode(digest, ret->digest, SHA256_LEN);
        if (r < 0)
                return r;
        r = event_digest(event, computed);
        if (r < 0)
                return r;
        return memcmp(computed, ret->digest, SHA256_LEN) == 0 ? 0 : -EBADMSG;
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

int tpm_log_replay(const char *log_path, unsigned pcr, uint8_t ret_sha256[32], unsigned *ret_n) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        uint8_t value[2 * SHA256_LEN] = {}, next[SHA256_LEN];
        size_t cap = 0;
        unsigned n = 0;
        ssize_t len;
        int r;

        if (!log_path || pcr > TPM_PCR_MAX || !ret_sha256)
                return -EINVAL;
        f = fopen(log_path, "re");
        if (!f)
                return -errno;
        if (flock(fileno(f), LOCK_SH) < 0)
                return -errno;

        while ((len = getline(&line, &cap, f)) > 0) {
                LogEvent e;

                if (line[len - 1] != '\n' || (size_t) len > TPM_LOG_LINE_MAX || strlen(line) != (size_t) len)
                        return -EBADMSG;
                r = log_event_parse(line, (size_t) len, &e);
                if (r < 0)
                        return r;
                if (e.pcr != pcr || !e.sha256 || !e.confirmed)
                        continue;
                memcpy(value + SHA256_LEN, e.digest, SHA256_LEN);
                r = sha256(value, sizeof(value), next);
                if (r < 0)
                        return r;
                memcpy(value, next, SHA256_LEN);
                n++;
        }
        if (ferror(f))
                return -EIO;

        memcpy(ret_sha256, value, SHA256_LEN);
        if (ret_n)
                *ret_n = n;
        return 0;
}
