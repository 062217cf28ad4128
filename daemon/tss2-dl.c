/* tss2 (the TPM software stack), loaded by the process that measures a pod (tpm.c's child)
 * rather than by every worker: its four libraries were a tenth of a worker's start-up, and
 * most workers never talk to a TPM (a Prepare never does; a Run only where one exists). Each
 * function we use is defined here with its exact prototype (the headers check them) and calls
 * the real one, looked up on first use. A process that links tss2 itself (tests/integration's
 * tpm-tool) gets these, which call the same library. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "tpm.h"

#define TCTILDR_SONAME "libtss2-tctildr.so.0"
#define ESYS_SONAME "libtss2-esys.so.0"

static void *tctildr, *esys;
static pthread_once_t libraries_once = PTHREAD_ONCE_INIT;

static void libraries_open(void) {
        tctildr = dlopen(TCTILDR_SONAME, RTLD_NOW | RTLD_LOCAL);
        esys = dlopen(ESYS_SONAME, RTLD_NOW | RTLD_LOCAL);
}

bool tpm_library_available(void) {
        pthread_once(&libraries_once, libraries_open);
        return tctildr && esys;
}

/* NULL when the library or the function is missing: the callers below then fail the way a
 * TPM that cannot be opened fails. */
static void *symbol(void *library, const char *name) {
        return tpm_library_available() ? dlsym(library, name) : NULL;
}

/* In a program that links tss2 itself, the library was loaded with the program, and a lookup
 * in it searches the program first: it finds these very functions. The real ones are then
 * the next definitions after the program's. */
#define REAL(library, name)                                                             \
        static __typeof__(&name) real;                                                  \
        __typeof__(&name) f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);                 \
        if (!f) {                                                                       \
                f = (__typeof__(&name)) symbol(library, #name);                         \
                if (f == &name)                                                         \
                        f = (__typeof__(&name)) dlsym(RTLD_NEXT, #name);                \
                if (!f || f == &name)                                                   \
                        return TSS2_BASE_RC_NOT_IMPLEMENTED;                            \
                __atomic_store_n(&real, f, __ATOMIC_RELEASE);                           \
        }

TSS2_RC Tss2_TctiLdr_Initialize(const char *conf, TSS2_TCTI_CONTEXT **context) {
        REAL(tctildr, Tss2_TctiLdr_Initialize);
        return f(conf, context);
}

TSS2_RC Esys_Initialize(ESYS_CONTEXT **context, TSS2_TCTI_CONTEXT *tcti, TSS2_ABI_VERSION *abi) {
        REAL(esys, Esys_Initialize);
        return f(context, tcti, abi);
}

TSS2_RC Esys_PCR_Extend(ESYS_CONTEXT *context, ESYS_TR pcr, ESYS_TR session1, ESYS_TR session2,
                        ESYS_TR session3, const TPML_DIGEST_VALUES *digests) {
        REAL(esys, Esys_PCR_Extend);
        return f(context, pcr, session1, session2, session3, digests);
}
