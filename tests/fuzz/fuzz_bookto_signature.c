/*
 * libFuzzer target: the bookto signature and timestamp headers. The input is
 * "<X-Bookto-Timestamp>\n<X-Bookto-Signature>\n<body>". Checks, besides
 * memory errors: a signature made with bookto_sign over the same timestamp
 * and body always verifies, the same one over a changed body never does,
 * and an accepted timestamp is really within the tolerance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bookto.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {"fuzz-secret-current", "fuzz-secret-previous"};
	const time_t now = 1714644927; /* 2024-05-02 */
	char *text = fuzz_cstring(data, size);
	char *timestamp = text;
	char *signature = fuzz_split(timestamp, '\n');
	char *body = fuzz_split(signature, '\n');
	size_t body_len = strlen(body);
	char good[72];
	struct cn_error err;
	int64_t ts = 0;

	if (bookto_check_timestamp(timestamp, now, 300, &ts, &err) == 0)
		CHECK(ts >= (int64_t)now - 300 && ts <= (int64_t)now + 300);
	(void)bookto_verify_signature(timestamp, signature, (const unsigned char *)body, body_len,
	                              secrets, 2, &err);

	bookto_sign(secrets[1], timestamp, (const unsigned char *)body, body_len, good);
	CHECK(strlen(good) == 71);
	CHECK(bookto_verify_signature(timestamp, good, (const unsigned char *)body, body_len,
	                              secrets, 2, &err) == 0);
	if (body_len > 0) {
		body[0] = (char)(body[0] ^ 1);
		CHECK(bookto_verify_signature(timestamp, good, (const unsigned char *)body,
		                              body_len, secrets, 2, &err) != 0);
	}
	free(text);
	return 0;
}
