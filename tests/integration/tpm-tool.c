/* Test helper for test-tpm.sh: drives daemon/tpm.c and reads a PCR back independently.
 *   tpm-tool measure TCTI PCR LOG UUID TIMEOUT_MS MANIFEST_FILE STAGE1_ARG...
 *        prints "<result> <elapsed ms>", result one of ok ENODEV ETIMEDOUT EIO or an errno name;
 *        exits 0 for ok, 1 otherwise
 *   tpm-tool replay LOG PCR         prints the replayed value (hex) and the event count
 *   tpm-tool pcrread TCTI PCR       prints the PCR's sha256 bank value (hex); unbounded, so the
 *                                   caller runs it under timeout(1)
 *   tpm-tool listen PATH            a TPM that never answers: listens on PATH and PATH.ctrl,
 *                                   never accepts, prints "ready", sleeps until killed */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "cleanup.h"
#include "tpm.h"

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void print_hex(const uint8_t *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%02x", d[i]);
}

static int read_file(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        if (getdelim(&buf, &size, 0, f) < 0 && !feof(f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        *ret = buf ? TAKE_PTR(buf) : strdup("");
        return *ret ? 0 : -ENOMEM;
}

static const char *result_name(int r) {
        switch (r) {
        case 0:
                return "ok";
        case -ENODEV:
                return "ENODEV";
        case -ETIMEDOUT:
                return "ETIMEDOUT";
        case -EIO:
                return "EIO";
        default:
                return strerror(-r);
        }
}

static int cmd_measure(int argc, char **argv) {
        _cleanup_free_ char *manifest = NULL, *event = NULL;
        TpmConfig c;
        uint64_t start;
        int r;

        if (argc < 8)
                return 2;
        c = (TpmConfig) {
                .tcti = argv[2],
                .pcr = (unsigned) strtoul(argv[3], NULL, 10),
                .log_path = argv[4],
                .timeout_usec = strtoull(argv[6], NULL, 10) * 1000,
        };
        r = read_file(argv[7], &manifest);
        if (r >= 0)
                r = tpm_event_text(NULL, manifest, argv + 8, &event);
        if (r < 0) {
                fprintf(stderr, "event text: %s\n", strerror(-r));
                return 1;
        }
        start = now_ms();
        r = tpm_measure(&c, argv[5], event);
        printf("%s %llu\n", result_name(r), (unsigned long long) (now_ms() - start));
        return r < 0;
}

static int cmd_replay(int argc, char **argv) {
        uint8_t value[32];
        unsigned n;
        int r;

        if (argc != 4)
                return 2;
        r = tpm_log_replay(argv[2], (unsigned) strtoul(argv[3], NULL, 10), value, &n);
        if (r < 0) {
                fprintf(stderr, "replay: %s\n", strerror(-r));
                return 1;
        }
        print_hex(value, sizeof(value));
        printf(" %u\n", n);
        return 0;
}

static int cmd_pcrread(int argc, char **argv) {
        TSS2_TCTI_CONTEXT *tcti = NULL;
        ESYS_CONTEXT *ctx = NULL;
        TPML_PCR_SELECTION sel = { .count = 1 }, *sel_out = NULL;
        TPML_DIGEST *values = NULL;
        UINT32 counter;
        unsigned pcr;
        int rc = 1;

        if (argc != 4)
                return 2;
        pcr = (unsigned) strtoul(argv[3], NULL, 10);
        if (pcr > TPM_PCR_MAX)
                return 2;
        sel.pcrSelections[0] = (TPMS_PCR_SELECTION) { .hash = TPM2_ALG_SHA256, .sizeofSelect = 3 };
        sel.pcrSelections[0].pcrSelect[pcr / 8] = (BYTE) (1u << (pcr % 8));

        if (Tss2_TctiLdr_Initialize(argv[2], &tcti) != TSS2_RC_SUCCESS ||
            Esys_Initialize(&ctx, tcti, NULL) != TSS2_RC_SUCCESS ||
            Esys_PCR_Read(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &sel_out, &values)
            != TSS2_RC_SUCCESS || values->count != 1 || values->digests[0].size != 32)
                fprintf(stderr, "pcrread failed\n");
        else {
                print_hex(values->digests[0].buffer, 32);
                printf("\n");
                rc = 0;
        }
        Esys_Free(sel_out);
        Esys_Free(values);
        Esys_Finalize(&ctx);
        Tss2_TctiLdr_Finalize(&tcti);
        return rc;
}

static int listen_at(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
                return -1;
        return fd;
}

static int cmd_listen(int argc, char **argv) {
        _cleanup_free_ char *ctrl = NULL;

        if (argc != 3 || asprintf(&ctrl, "%s.ctrl", argv[2]) < 0)
                return 2;
        /* Connections wait in the backlog: the TCTI's connect and send succeed, its read never
         * returns. */
        if (listen_at(argv[2]) < 0 || listen_at(ctrl) < 0) {
                perror("listen");
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}

int main(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "measure") == 0)
                return cmd_measure(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "replay") == 0)
                return cmd_replay(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "pcrread") == 0)
                return cmd_pcrread(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "listen") == 0)
                return cmd_listen(argc, argv);
        fprintf(stderr, "usage: tpm-tool measure|replay|pcrread|listen ...\n");
        return 2;
}
