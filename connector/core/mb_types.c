#include "mb_types.h"

#include "error.h"

static const char *const outcome_names[MB_OUTCOME_COUNT] = {
    "ok", "not_found", "validation", "permanent", "rate_limited", "transient", "unknown_outcome",
};

const char *mb_outcome_name(enum mb_outcome outcome)
{
	if ((unsigned)outcome < MB_OUTCOME_COUNT)
		return outcome_names[outcome];
	return "invalid";
}

int mb_outcome_status(enum mb_outcome outcome)
{
	switch (outcome) {
	case MB_OK:
		return CN_OK;
	case MB_NOT_FOUND:
		return CN_NOT_FOUND;
	case MB_VALIDATION:
	case MB_PERMANENT:
		return CN_INVALID;
	case MB_RATE_LIMITED:
	case MB_TRANSIENT:
		return CN_RETRYABLE;
	case MB_UNKNOWN_OUTCOME:
	default:
		return CN_ERR;
	}
}
