/* Latency; see latency.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "latency.h"

uint64_t latency_now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int latency_record(Latency *l, uint64_t ns) {
        if (l->n == l->allocated) {
                size_t m = l->allocated ? l->allocated * 2 : 4096;
                uint64_t *p = realloc(l->ns, m * sizeof(uint64_t));

                if (!p)
                        return -ENOMEM;
                l->ns = p;
                l->allocated = m;
        }
        l->ns[l->n++] = ns;
        return 0;
}

void latency_done(Latency *l) {
        free(l->ns);
        *l = (Latency) {};
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

int latency_merge(const Latency *const *sets, size_t n, LatencyStats *ret) {
        _cleanup_free_ uint64_t *all = NULL;
        size_t total = 0, at = 0;

        for (size_t i = 0; i < n; i++)
                total += sets[i]->n;
        if (total == 0)
                return -ENODATA;
        all = malloc(total * sizeof(uint64_t));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (sets[i]->n == 0)
                        continue;       /* its ns may be NULL, which memcpy must not get */
                memcpy(all + at, sets[i]->ns, sets[i]->n * sizeof(uint64_t));
                at += sets[i]->n;
        }
        qsort(all, total, sizeof(uint64_t), compare_u64);
        ret->calls = total;
        ret->p50 = all[(total - 1) * 50 / 100];
        ret->p99 = all[(total - 1) * 99 / 100];
        ret->max = all[total - 1];
        return 0;
}

int latency_parse_seconds(const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 3600.0))
                return -EINVAL;
        *ret = v;
        return 0;
}
