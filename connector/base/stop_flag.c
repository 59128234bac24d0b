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

void stop_flag_raise(struct stop_flag *flag)
{
	pthread_mutex_lock(&flag->mutex);
	flag->raised = true;
	pthread_cond_broadcast(&flag->wake);
	pthread_mutex_unlock(&flag->mutex);
}

bool stop_flag_raised(struct stop_flag *flag)
{
	bool raised;

	pthread_mutex_lock(&flag->mutex);
	raised = flag->raised;
	pthread_mutex_unlock(&flag->mutex);
	return raised;
}

void stop_flag_sleep_ms(struct stop_flag *flag, int ms)
{
	struct timespec deadline = clock_after_ms(CLOCK_REALTIME, ms);

	pthread_mutex_lock(&flag->mutex);
	if (!flag->raised)
		pthread_cond_timedwait(&flag->wake, &flag->mutex, &deadline);
	pthread_mutex_unlock(&flag->mutex);
}
