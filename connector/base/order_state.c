#include "order_state.h"

#include <string.h>

const char *const order_state_names[ORDER_STATE_COUNT] = {
    "queued", "in_progress", "retrying", "needs_attention", "skipped", "synced", "reconciled",
};

int order_state_index(const char *name)
{
	for (size_t s = 0; s < ORDER_STATE_COUNT; s++)
		if (strcmp(name, order_state_names[s]) == 0)
			return (int)s;
	return -1;
}
