/*
 * Notification delivery: the message text for a cause, a Slack/Mattermost
 * compatible incoming webhook ({"text": ...} over libcurl) and email through
 * a local sendmail-compatible binary. Both bounded by a timeout; an error
 * names what failed, never the webhook URL (it is a secret).
 */
#ifndef BM_NOTIFY_SEND_H
#define BM_NOTIFY_SEND_H

#include <stddef.h>

#include "error.h"

/*
 * Writes the one-line subject and the full text of a message: cause is
 * "kind:name" (parked, paused, resumed, reconcile, spool), events how many
 * events it stands for, lines the kept ones (newline-separated).
 */
void notify_text(const char *cause, int events, const char *lines, char *subject,
                 size_t subject_size, char *text, size_t text_size);

/* POSTs {"text": text}; success is a 2xx answer within timeout_seconds. */
int notify_send_webhook(const char *url, const char *text, int timeout_seconds,
                        struct cn_error *err) MUST_CHECK;

/* Pipes a plain-text mail to `sendmail -i -- to`; success is exit status 0
 * within timeout_seconds (else the process is killed). */
int notify_send_email(const char *sendmail, const char *from, const char *to, const char *subject,
                      const char *text, int timeout_seconds, struct cn_error *err) MUST_CHECK;

#endif
