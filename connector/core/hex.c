#include "hex.h"

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hex_decode(const char *text, size_t len, unsigned char *out, size_t out_len)
{
	if (len != 2 * out_len)
		return false;
	for (size_t i = 0; i < out_len; i++) {
		int high = hex_digit_value(text[2 * i]);
		int low = hex_digit_value(text[2 * i + 1]);

		if (high < 0 || low < 0)
			return false;
		out[i] = (unsigned char)(high * 16 + low);
	}
	return true;
}
