/*
 * cmd-backup.c - cairn backup: store a snapshot of a member from local
 * paths, a tar stream (--tar) or standard input (--stdin NAME [-- CMD]; see
 * backup-source.c). Exit 3 when the snapshot was written without some
 * entries (each reported by path).
 */
#include "ops/backup.h"
#include "ops/ingest.h"
#include "cmd.h"
#include "base/log.h"

#include <time.h>

enum {
	OPT_MEMBER = OPT_FIRST_COMMAND_OPTION,
	OPT_TIME,
	OPT_TAG,
	OPT_TAR,
	OPT_STDIN,
	OPT_STRIP_UNSAFE
};

struct progress_state {
	uint64_t start_ns;
};

static void show_progress(void *userdata, const struct backup_stats *s, bool done)
{
	struct progress_state *p = userdata;
	double secs = (double)(now_ns() - p->start_ns) / 1e9;
	char read[16], stored[16];

	format_size(s->n_read, read);
	format_size(s->n_stored, stored);
	fprintf(stderr, "\r\033[K%" PRIu64 " files, %s read (%.0f MiB/s), %s stored, %.0fs%s",
		s->n_files, read, secs > 0 ? (double)s->n_read / secs / 1048576 : 0.0, stored, secs,
		done ? "\n" : "");
}

int cmd_backup(int argc, char **argv)
{
	static const struct option options[] = {
		{ "member", required_argument, NULL, OPT_MEMBER },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "tar", required_argument, NULL, OPT_TAR },
		{ "stdin", required_argument, NULL, OPT_STDIN },
		{ "strip-unsafe", no_argument, NULL, OPT_STRIP_UNSAFE },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn backup",
		.usage =
			"cairn backup -r REPO --member M [--time TS] [--tag T]... PATH...\n"
			"       cairn backup -r REPO --member M [...] --tar FILE|- [--strip-unsafe]\n"
			"       cairn backup -r REPO --member M [...] --stdin NAME [-- CMD [ARG]...]",
	};
	struct backup_options bo = { 0 };
	struct progress_state ps = { now_ns() };
	AUTOFREE const char **tags = xcalloc((size_t)argc, sizeof(char *));
	struct repo *repo = NULL;
	struct catalog *cat = NULL;
	struct backup_result res;
	struct backup_source src = { 0 };
	int opt, r;

	/* "--" ends cairn's options; with --stdin, what follows is CMD. */
	int n_opts = argc;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			n_opts = i;
			break;
		}
	while ((opt = getopt_long(n_opts, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_MEMBER:
			bo.member = optarg;
			break;
		case OPT_TIME:
			if (snapshot_time_parse(optarg, &bo.time_sec) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --time '%s' (use UTC like "
						       "2026-11-22T205328Z or @UNIXSECONDS)",
						       optarg);
			break;
		case OPT_TAG:
			if (!*optarg || strchr(optarg, ',') || strlen(optarg) > TAG_LEN_MAX ||
			    bo.n_tags >= TAGS_MAX)
				return cmd_usage_error(&ctx,
						       "invalid --tag '%s' (1..%d bytes, no commas, "
						       "at most %d tags)",
						       optarg, TAG_LEN_MAX, TAGS_MAX);
			tags[bo.n_tags++] = optarg;
			break;
		case OPT_TAR:
			src.tar = optarg;
			break;
		case OPT_STDIN:
			src.stdin_name = optarg;
			break;
		case OPT_STRIP_UNSAFE:
			src.strip_unsafe = true;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	if (!bo.member)
		return cmd_usage_error(&ctx, "--member is required");
	if (!member_name_is_valid(bo.member))
		return cmd_usage_error(&ctx,
				       "invalid member name '%s' (letters, digits, '.', '_', '-'; "
				       "starting with a letter or digit)",
				       bo.member);
	/* PATH operands: before "--" (getopt moved them to the end) and after. */
	AUTOFREE const char **paths = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = optind; i < n_opts; i++)
		paths[bo.n_paths++] = argv[i];
	if (src.tar && src.stdin_name)
		return cmd_usage_error(&ctx, "--tar and --stdin exclude each other");
	if (src.strip_unsafe && !src.tar)
		return cmd_usage_error(&ctx, "--strip-unsafe applies to --tar only");
	if (src.stdin_name && !name_is_valid_component(src.stdin_name, strlen(src.stdin_name)))
		return cmd_usage_error(&ctx,
				       "invalid --stdin name '%s' (one file name: no '/', not "
				       "'.' or '..')",
				       src.stdin_name);
	if (src.stdin_name && n_opts < argc) {
		if (bo.n_paths > 0 || n_opts + 1 >= argc)
			return cmd_usage_error(&ctx, "--stdin NAME takes no PATH; give the command "
						     "after '--'");
		src.cmd = argv + n_opts + 1;
	} else {
		for (int i = n_opts + 1; i < argc; i++)
			paths[bo.n_paths++] = argv[i];
	}
	if ((src.tar || src.stdin_name) && bo.n_paths > 0)
		return cmd_usage_error(&ctx, "--tar and --stdin take no PATH");
	if (!src.tar && !src.stdin_name && bo.n_paths == 0)
		return cmd_usage_error(&ctx, "no PATH to back up");
	bo.paths = paths;
	bo.tags = tags;
	if (progress_wanted() && ctx.verbosity >= 0) {
		bo.progress = show_progress;
		bo.progress_data = &ps;
	}

	r = cmd_open(&ctx, &repo, &cat);
	if (r < 0)
		return EXIT_FAILURE_;
	if (src.tar || src.stdin_name)
		r = backup_from_source(repo, cat, &bo, &src, &res);
	else
		r = backup_run(repo, cat, &bo, &res);
	if (r == 0) {
		char hex[HASH_HEX_LEN + 1], bytes[16], stored[16];
		hex_encode(res.snap_id, HASH_LEN, hex);
		format_size(res.stats.n_bytes, bytes);
		format_size(res.stats.n_stored, stored);
		struct cat_snapshot s;
		const char *name = catalog_find_snapshot_by_prefix(cat, hex, &s) == 0 ? s.name : "";
		log_info("snapshot %.8s saved as %s/%s: %" PRIu64 " files, %s, %s new in the "
			 "repository",
			 hex, bo.member, name, res.stats.n_files, bytes, stored);
		if (res.stats.n_errors > 0)
			log_warning("%" PRIu64 " entries could not be read and are missing from "
				    "the snapshot",
				    res.stats.n_errors);
	}
	cmd_close(&ctx, repo, cat);
	if (r < 0)
		return EXIT_FAILURE_;
	return res.stats.n_errors > 0 ? EXIT_PARTIAL : EXIT_OK;
}
