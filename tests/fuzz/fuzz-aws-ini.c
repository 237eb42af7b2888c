/*
 * fuzz-aws-ini.c - the reader of the AWS shared credentials and config
 * files (aws_profile_parse()), which takes whatever a user or a tool left in
 * ~/.aws. The first input byte picks the file kind and the profile; the rest
 * is the file. Properties: every value found is a NUL-terminated string
 * without leading or trailing blanks, and found is set when any value is.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

#include "backend/backend-internal.h"
#include "base/log.h"

static void check_value(const char *v)
{
	if (!v)
		return;
	size_t n = strlen(v);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(v[0] != ' ' && v[0] != '\t');
	FUZZ_CHECK(!strchr(" \t\r\n", v[n - 1]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { "default", "p", "profile", "" };
	static bool quiet;

	if (!quiet) {
		log_setup("fuzz-aws-ini", LOG_TARGET_STDERR, LOG_CRIT);
		quiet = true;
	}
	if (size < 1)
		return 0;
	bool is_config = data[0] & 1;
	const char *profile = profiles[(data[0] >> 1) % ARRAY_SIZE(profiles)];
	/* fmemopen() of an empty buffer fails; a copy also gives ASan exact bounds. */
	AUTOFREE char *text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	FILE *f = fmemopen(text, size - 1 ? size - 1 : 1, "r");
	FUZZ_CHECK(f != NULL);
	struct aws_profile p = { 0 };
	aws_profile_parse(f, profile, is_config, &p);
	fclose(f);
	check_value(p.access_key_id);
	check_value(p.secret_access_key);
	check_value(p.session_token);
	check_value(p.region);
	check_value(p.endpoint_url);
	check_value(p.addressing_style);
	if (p.access_key_id || p.secret_access_key || p.region)
		FUZZ_CHECK(p.found);
	aws_profile_release(&p);
	return 0;
}
