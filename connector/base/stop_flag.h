/*
 * A background thread's stop request: the thread polls it between steps and
 * sleeps on it, so a stop wakes it at once instead of after its sleep.
 */
#ifndef BM_STOP_FLAG_H
#define BM_STOP_FLAG_H

#include <pthread.h>
#include <stdbool.h>

struct stop_flag {
	pthread_mutex_t mutex;
	pthread_cond_t wake;
	bool raised; /* guarded by mutex */
};

void stop_flag_init(struct stop_flag *flag);
void stop_flag_destroy(struct stop_flag *flag);
/* Asks the thread to stop and wakes it from stop_flag_sleep_ms. */
void stop_flag_raise(struct stop_flag *flag);
bool stop_flag_raised(struct stop_flag *flag);
/* Sleeps up to ms, returning early once the flag is raised. */
void stop_flag_sleep_ms(struct stop_flag *flag, int ms);

#endif
