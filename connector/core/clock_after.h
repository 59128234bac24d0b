/* A pthread_cond_timedwait deadline: a clock's now plus some milliseconds
 * (clock_after.c), written once instead of in every waiting module. */
#ifndef BM_CLOCK_AFTER_H
#define BM_CLOCK_AFTER_H

#include <time.h>

/* clock's current time plus ms (>= 0), tv_nsec normalised. */
struct timespec clock_after_ms(clockid_t clock, int ms);

#endif
