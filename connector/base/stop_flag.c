#include "stop_flag.h"

#include <time.h>

#include "clock_after.h"

void stop_flag_init(struct stop_flag *flag)
{
	pthread_mutex_init(&flag->mutex, NULL);
	pthread_cond_init(&flag->wake, NULL);
	flag->raised = false;
}

void stop_flag_destroy(struct stop_flag *flag)
{
	pthread_mutex_destroy(&flag->mutex);
	pthread_cond_destroy(&flag->wake);
}

void stop_flag_raise_shared(pthread_mutex_t *mutex, pthread_cond_t *wake, bool *stopping)
{
	pthread_mutex_lock(mutex);
	*stopping = true;
	pthread_cond_broadcast(wake);
	pthread_mutex_unlock(mutex);
}

bool stop_flag_read_shared(pthread_mutex_t *mutex, const bool *stopping)
{
	bool value;

	pthread_mutex_lock(mutex);
	value = *stopping;
	pthread_mutex_unlock(mutex);
	return value;
}

void stop_flag_raise(struct stop_flag *flag)
{
	stop_flag_raise_shared(&flag->mutex, &flag->wake, &flag->raised);
}

bool stop_flag_raised(struct stop_flag *flag)
{
	return stop_flag_read_shared(&flag->mutex, &flag->raised);
}

void stop_flag_sleep_ms(struct stop_flag *flag, int ms)
{
	struct timespec deadline = clock_after_ms(CLOCK_REALTIME, ms);

	pthread_mutex_lock(&flag->mutex);
	if (!flag->raised)
		pthread_cond_timedwait(&flag->wake, &flag->mutex, &deadline);
	pthread_mutex_unlock(&flag->mutex);
}

bool stop_flag_thread_start(struct stop_flag *flag, pthread_t *thread, void *(*main)(void *),
                            void *arg)
{
	stop_flag_init(flag);
	if (pthread_create(thread, NULL, main, arg) == 0)
		return true;
	stop_flag_destroy(flag);
	return false;
}

void stop_flag_thread_stop(struct stop_flag *flag, pthread_t thread)
{
	stop_flag_raise(flag);
	pthread_join(thread, NULL);
	stop_flag_destroy(flag);
}

void stop_flag_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attributes;

	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attributes);
	pthread_condattr_destroy(&attributes);
}

bool stop_flag_shared_thread_start(pthread_mutex_t *mutex, pthread_cond_t *wake, pthread_t *thread,
                                   void *(*main)(void *), void *arg)
{
	pthread_mutex_init(mutex, NULL);
	stop_flag_cond_init_monotonic(wake);
	if (pthread_create(thread, NULL, main, arg) == 0)
		return true;
	pthread_mutex_destroy(mutex);
	pthread_cond_destroy(wake);
	return false;
}

void stop_flag_shared_thread_stop(pthread_mutex_t *mutex, pthread_cond_t *wake, bool *stopping,
                                  pthread_t thread)
{
	stop_flag_raise_shared(mutex, wake, stopping);
	pthread_join(thread, NULL);
	pthread_mutex_destroy(mutex);
	pthread_cond_destroy(wake);
}
