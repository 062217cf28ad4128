/* TPM measurement: the event text, the log line, the replay, and tpm_measure() without a TPM
 * and with a TPM that never answers (a listener that never accepts). A real TPM (swtpm) is
 * exercised by tests/integration/test-tpm.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "tpm.h"

#define UUID "0b5a8c2e-1d3f-4a6b-9c8d-7e6f5a4b3c2d"

static int setup(void **state) {
        char *dir = strdup("/tmp/test-tpm.XXXXXX");

        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *) *state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

static char *path_in(void **state, const char *name) {
        char *p;

        assert_true(asprintf(&p, "%s/%s", (char *) *state, name) > 0);
        return p;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sha256(const void *data, size_t size, uint8_t ret[32]) {
        unsigned len;

        assert_true(EVP_Digest(data, size, ret, &len, EVP_sha256(), NULL));
}

/* The PCR after extending `value` with sha256(event). */
static void extend(uint8_t value[32], const char *event) {
        uint8_t buf[64];

        memcpy(buf, value, 32);
        sha256(event, strlen(event), buf + 32);
        sha256(buf, sizeof(buf), value);
}

static void write_text(const char *path, const char *text, const char *mode) {
        FILE *f = fopen(path, mode);

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void append_event(const char *log, unsigned pcr, const char *event, bool confirmed) {
        _cleanup_free_ char *line = NULL;
        uint8_t digest[32];

        sha256(event, strlen(event), digest);
        assert_int_equal(tpm_log_format(pcr, digest, UUID, event, 1, confirmed, &line), 0);
        write_text(log, line, "a");
}

static void test_event_text(void **state) {
        char *argv[] = { "/pod/stage1/rootfs/run", "--net=default", "--local-config=/etc/rkt", UUID, NULL };
        char *empty[] = { NULL };
        _cleanup_free_ char *a = NULL, *b = NULL;
        _cleanup_free_ char *big = NULL;

        (void) state;
        /* The seed's text, byte for byte: an empty root hash leaves two spaces. */
        assert_int_equal(tpm_event_text(NULL, "{\"acKind\":\"PodManifest\"}", argv, &a), 0);
        assert_string_equal(a, "rkt: Rootfs:  Manifest: {\"acKind\":\"PodManifest\"} Stage1 args: "
                               "/pod/stage1/rootfs/run --net=default --local-config=/etc/rkt " UUID);
        assert_int_equal(tpm_event_text("sha512-0123", "{}", argv + 3, &b), 0);
        assert_string_equal(b, "rkt: Rootfs: sha512-0123 Manifest: {} Stage1 args: " UUID);

        assert_int_equal(tpm_event_text(NULL, NULL, argv, &a), -EINVAL);
        assert_int_equal(tpm_event_text(NULL, "{}", NULL, &a), -EINVAL);
        assert_int_equal(tpm_event_text(NULL, "{}", empty, &a), -EINVAL);

        big = malloc(TPM_EVENT_SIZE_MAX + 1);
        assert_non_null(big);
        memset(big, 'x', TPM_EVENT_SIZE_MAX);
        big[TPM_EVENT_SIZE_MAX] = 0;
        assert_int_equal(tpm_event_text(NULL, big, argv, &a), -E2BIG);
}

static void test_log_format(void **state) {
        _cleanup_free_ char *line = NULL, *expected = NULL;
        static const char event[] = "hello-event";
        uint8_t digest[32];
        char hex[65];

        (void) state;
        sha256(event, strlen(event), digest);
        for (int i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", digest[i]);

        assert_int_equal(tpm_log_format(15, digest, UUID, event, 1700000000123456, true, &line), 0);
        assert_true(asprintf(&expected, "{\"pcr\":15,\"algorithm\":\"sha256\",\"digest\":\"%s\","
                             "\"event\":\"aGVsbG8tZXZlbnQ=\",\"uuid\":\"" UUID "\","
                             "\"timeUsec\":1700000000123456,\"confirmed\":true}\n", hex) > 0);
        assert_string_equal(line, expected);

        assert_int_equal(tpm_log_format(24, digest, UUID, event, 1, true, &line), -EINVAL);
        assert_int_equal(tpm_log_format(15, digest, "not-a-uuid", event, 1, true, &line), -EINVAL);
        assert_int_equal(tpm_log_format(15, digest, UUID, NULL, 1, true, &line), -EINVAL);
}

static void test_replay(void **state) {
        _cleanup_free_ char *log = path_in(state, "measurements.log");
        uint8_t value[32], expected[32] = {};
        unsigned n = 99;

        assert_int_equal(tpm_log_replay(log, 16, value, &n), -ENOENT);

        /* An empty log replays to the reset value. */
        write_text(log, "", "w");
        assert_int_equal(tpm_log_replay(log, 16, value, &n), 0);
        assert_int_equal(n, 0);
        assert_memory_equal(value, expected, 32);

        /* The value from libraries.md §2, computed independently: 68fa9cd2…0da3. */
        append_event(log, 15, "hello-event", true);
        assert_int_equal(tpm_log_replay(log, 15, value, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(value[0], 0x68);
        assert_int_equal(value[1], 0xfa);
        assert_int_equal(value[30], 0x0d);
        assert_int_equal(value[31], 0xa3);

        /* Only confirmed events of the PCR count, in file order; other banks are skipped. */
        append_event(log, 16, "first", true);
        append_event(log, 16, "maybe", false);
        append_event(log, 16, "second, with \"quotes\"\nand a newline", true);
        write_text(log, "{\"pcr\":16,\"algorithm\":\"sha1\",\"digest\":\"00\",\"event\":\"\",\"uuid\":\""
                        UUID "\",\"timeUsec\":1,\"confirmed\":true}\n", "a");
        extend(expected, "first");
        extend(expected, "second, with \"quotes\"\nand a newline");
        assert_int_equal(tpm_log_replay(log, 16, value, &n), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(value, expected, 32);
        assert_int_equal(tpm_log_replay(log, 23, value, NULL), 0);
        assert_int_equal(tpm_log_replay(log, 24, value, NULL), -EINVAL);
}

/* Each line alone must make the replay fail. */
static void test_replay_bad(void **state) {
        _cleanup_free_ char *log = path_in(state, "bad.log");
        static const char *const bad[] = {
                "not json\n",
                "[]\n",
                "{\"pcr\":16}\n",
                /* a digest that is not the sha256 of the event ("first") */
                "{\"pcr\":16,\"algorithm\":\"sha256\",\"digest\":\"00000000000000000000000000000000"
                "00000000000000000000000000000000\",\"event\":\"Zmlyc3Q=\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true}\n",
                /* bad base64 */
                "{\"pcr\":16,\"algorithm\":\"sha256\",\"digest\":\"00000000000000000000000000000000"
                "00000000000000000000000000000000\",\"event\":\"Zm=yc3Q=\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true}\n",
                /* pcr out of range, pcr of the wrong type, a bad uuid */
                "{\"pcr\":24,\"algorithm\":\"sha1\",\"digest\":\"\",\"event\":\"\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true}\n",
                "{\"pcr\":\"16\",\"algorithm\":\"sha1\",\"digest\":\"\",\"event\":\"\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true}\n",
                "{\"pcr\":16,\"algorithm\":\"sha1\",\"digest\":\"\",\"event\":\"\",\"uuid\":\"x\","
                "\"timeUsec\":1,\"confirmed\":true}\n",
                /* trailing garbage, and a torn last line */
                "{\"pcr\":16,\"algorithm\":\"sha1\",\"digest\":\"\",\"event\":\"\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true} x\n",
                "{\"pcr\":16,\"algorithm\":\"sha1\",\"digest\":\"\",\"event\":\"\",\"uuid\":\"" UUID
                "\",\"timeUsec\":1,\"confirmed\":true}",
                "\n",
        };
        uint8_t value[32];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_text(log, bad[i], "w");
                assert_int_equal(tpm_log_replay(log, 16, value, NULL), -EBADMSG);
        }
}

static void test_measure_invalid(void **state) {
        _cleanup_free_ char *log = path_in(state, "tpm/measurements.log");
        TpmConfig c = { .tcti = "swtpm:path=/nonexistent", .pcr = 16, .timeout_usec = 1000000, .log_path = log };
        TpmConfig bad;

        bad = c;
        bad.tcti = NULL;
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        bad = c;
        bad.tcti = "";
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        bad = c;
        bad.pcr = 24;
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        bad = c;
        bad.timeout_usec = 0;
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        bad.timeout_usec = TPM_TIMEOUT_USEC_MAX + 1;
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        bad = c;
        bad.log_path = "relative.log";
        assert_int_equal(tpm_measure(&bad, UUID, "e"), -EINVAL);
        assert_int_equal(tpm_measure(&c, "NOT-A-UUID", "e"), -EINVAL);
        assert_int_equal(tpm_measure(&c, UUID, NULL), -EINVAL);
        assert_int_equal(tpm_measure(NULL, UUID, "e"), -EINVAL);
}

static bool under_valgrind(void) {
        const char *p = getenv("LD_PRELOAD");

        return p && strstr(p, "vgpreload");
}

static void test_measure_no_tpm(void **state) {
        _cleanup_free_ char *log = path_in(state, "tpm/measurements.log");
        _cleanup_free_ char *dir = path_in(state, "tpm");
        _cleanup_free_ char *sock = path_in(state, "missing.sock");
        _cleanup_free_ char *tcti = NULL;
        const char *const ttis[] = { NULL, "device:/dev/nonexistent-tpm", "no-such-tcti" };
        struct stat st;

        assert_true(asprintf(&tcti, "swtpm:path=%s", sock) > 0);
        for (size_t i = 0; i < ELEMENTSOF(ttis); i++) {
                TpmConfig c = { .tcti = ttis[i] ?: tcti, .pcr = 16, .timeout_usec = 5000000, .log_path = log };
                uint64_t start = now_ms();

                assert_int_equal(tpm_measure(&c, UUID, "event"), -ENODEV);
                /* Under valgrind everything is ~20x slower; the bound that matters is far below
                 * the 5 s timeout, which proves nobody waited for it. */
                assert_true(now_ms() - start < (under_valgrind() ? 2000 : 100));
        }
        assert_int_equal(stat(dir, &st), -1);   /* no TPM: not even the log's directory */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);   /* the child was reaped */
}

/* A swtpm TCTI peer that takes the connections (in the backlog) and never answers. */
static int listen_at(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        return fd;
}

static void test_measure_hang(void **state) {
        _cleanup_free_ char *log = path_in(state, "tpm/measurements.log");
        _cleanup_free_ char *sock = path_in(state, "hang.sock");
        _cleanup_free_ char *ctrl = path_in(state, "hang.sock.ctrl");
        _cleanup_free_ char *tcti = NULL;
        _cleanup_close_ int a = listen_at(sock), b = listen_at(ctrl);
        uint64_t start, elapsed;
        struct stat st;

        assert_true(asprintf(&tcti, "swtpm:path=%s", sock) > 0);
        TpmConfig c = { .tcti = tcti, .pcr = 16, .timeout_usec = 300000, .log_path = log };

        start = now_ms();
        assert_int_equal(tpm_measure(&c, UUID, "event"), -ETIMEDOUT);
        elapsed = now_ms() - start;
        assert_true(elapsed >= 300);
        assert_true(elapsed < 1300);
        assert_int_equal(stat(log, &st), -1);   /* never opened: nothing was sent to extend */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_event_text),
                cmocka_unit_test(test_log_format),
                cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replay_bad, setup, teardown),
                cmocka_unit_test_setup_teardown(test_measure_invalid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_measure_no_tpm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_measure_hang, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
