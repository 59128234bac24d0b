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

/* A stop flag that shares its mutex and condition with a thread's work (a
 * queue, a list): sets *stopping under mutex and wakes every waiter. */
void stop_flag_raise_shared(pthread_mutex_t *mutex, pthread_cond_t *wake, bool *stopping);
/* Reads such a shared flag under its mutex. */
bool stop_flag_read_shared(pthread_mutex_t *mutex, const bool *stopping);

/* A background thread stopped by its own flag: initialises flag and starts
 * main(arg); false (flag destroyed again) when no thread could be made. */
bool stop_flag_thread_start(struct stop_flag *flag, pthread_t *thread, void *(*main)(void *),
                            void *arg);
/* Raises flag, waits for the thread to end and destroys flag. */
void stop_flag_thread_stop(struct stop_flag *flag, pthread_t thread);

/* A condition whose timed waits take CLOCK_MONOTONIC deadlines
 * (clock_after_ms(CLOCK_MONOTONIC, ...)), so a wall-clock step neither cuts
 * nor stretches a wait. */
void stop_flag_cond_init_monotonic(pthread_cond_t *cond);

/* A background thread stopped by a flag shared with its work (see
 * stop_flag_raise_shared): initialises mutex and wake (monotonic) and starts
 * main(arg); false (both destroyed again) when no thread could be made. */
bool stop_flag_shared_thread_start(pthread_mutex_t *mutex, pthread_cond_t *wake, pthread_t *thread,
                                   void *(*main)(void *), void *arg);
/* Raises the shared flag, waits for the thread to end and destroys mutex and
 * wake. */
void stop_flag_shared_thread_stop(pthread_mutex_t *mutex, pthread_cond_t *wake, bool *stopping,
                                  pthread_t thread);

#endif
