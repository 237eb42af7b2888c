/*
 * fuzz-http-headers.c - the reply header block of an HTTP server (S3 or a
 * static web server): http_response_header() finding a header, and
 * http_parse_content_range() on its value, which decides whether a ranged
 * read got the bytes it asked for. Properties: a found value is trimmed, and
 * an accepted range is "FIRST-LAST/TOTAL" with FIRST <= LAST < TOTAL, or has
 * a "*" on one side only.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "backend/http.h"
#include "base/parse.h"

static void check_range(const char *value)
{
	uint64_t first, last, total;
	int r = http_parse_content_range(value, &first, &last, &total);

	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO);
		return;
	}
	FUZZ_CHECK(strncmp(value, "bytes ", 6) == 0);
	if (first == UINT64_MAX) {
		FUZZ_CHECK(last == UINT64_MAX && total != UINT64_MAX);
	} else {
		FUZZ_CHECK(first <= last && last != UINT64_MAX);
		FUZZ_CHECK(total == UINT64_MAX || last < total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	AUTOFREE char *value = NULL;
	AUTOFREE char *length = NULL;
	AUTOFREE char *text = NULL;
	uint64_t n;

	buf_append(&resp.headers, data, size);
	value = http_response_header(&resp, "content-range");
	if (value) {
		size_t len = strlen(value);
		FUZZ_CHECK(len == 0 || (value[0] != ' ' && value[0] != '\t' &&
					!strchr(" \t\r", value[len - 1])));
		check_range(value);
	}
	length = http_response_header(&resp, "content-length");
	if (length && parse_uint(length, &n) == 0)
		FUZZ_CHECK(length[0] >= '0' && length[0] <= '9');
	http_response_release(&resp);

	/* the whole input as a value too, so the range grammar is reached directly */
	text = malloc(size + 1);
	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	check_range(text);
	return 0;
}
