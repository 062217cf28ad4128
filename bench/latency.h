/* Latency: the samples one thread of a bench takes (call times in ns), and the figures of a
 * row merged from all its threads. Shared by bench-varlink and bench-prepare. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct Latency {
        uint64_t *ns;
        size_t n, allocated;
} Latency;

typedef struct LatencyStats {
        unsigned long long calls;
        uint64_t p50, p99, max;      /* ns */
} LatencyStats;

uint64_t latency_now_nsec(void);    /* CLOCK_MONOTONIC */
int latency_record(Latency *l, uint64_t ns);
void latency_done(Latency *l);
/* The figures over every sample of the n sets; -ENODATA when there is none. */
int latency_merge(const Latency *const *sets, size_t n, LatencyStats *ret);
/* A duration option in seconds, 0..3600. */
int latency_parse_seconds(const char *s, double *ret);
