/*
 * fuzz-s3-reply.c - what cairn reads from S3 replies besides listings: the
 * <Code> and <Message> of an error body (backend_s3_xml_text() and its
 * escaped form, which is what reaches a terminal) and a DeleteObjects reply
 * (backend_s3_delete_reply()). Properties: text comes back NUL-terminated
 * and, escaped, holds no control character; a delete reply gives 0, -EACCES
 * or -EIO.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "backend/backend-internal.h"
#include "base/log.h"

static void check_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "Code", "Message", "Key", "RequestId" };
	static bool quiet;

	if (!quiet) {
		log_setup("fuzz-s3-reply", LOG_TARGET_STDERR, LOG_CRIT);
		quiet = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		AUTOFREE char *raw = backend_s3_xml_text((const char *)data, size, tags[i]);
		AUTOFREE char *shown =
			backend_s3_xml_text_printable((const char *)data, size, tags[i]);
		FUZZ_CHECK(!raw == !shown);
		if (raw)
			FUZZ_CHECK(strlen(raw) < size);
		if (shown)
			check_printable(shown);
	}
	AUTOBUF struct buf reply = BUF_INIT;
	buf_append(&reply, data, size);
	int r = backend_s3_delete_reply("s3://fuzz", "repo/", &reply);
	FUZZ_CHECK(r == 0 || r == -EACCES || r == -EIO);
	return 0;
}
