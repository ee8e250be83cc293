/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers shared by the benchmarks: clocks, medians, resident memory, the RESULT line.
 */
#ifndef NTO_BENCH_BENCHLIB_H
#define NTO_BENCH_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* CPU time of the calling process in nanoseconds (user + system). */
uint64_t bench_cpu_ns(void);

/*
 * CPU time of every task of the machine in nanoseconds (the sum over CPUs of the scheduler's
 * run time, /proc/schedstat field 7): what a run and the kernel's deferred work for it (RCU
 * callbacks, kworkers) cost together, idle excluded. A task's current slice counts once it is
 * switched out, so sleep before each reading. 0 when unreadable.
 */
uint64_t bench_busy_ns(void);

/* Median of v[0..n) (sorts v). n must be > 0. */
double bench_median(double *v, size_t n);

/* Percentile p (0..100, nearest rank) of v[0..n) (sorts v). */
double bench_percentile(double *v, size_t n, double p);

/* Resident set size in bytes from /proc/self/statm; 0 when unreadable. */
size_t bench_rss_bytes(void);

#endif
