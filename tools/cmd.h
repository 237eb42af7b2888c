/*
 * cmd.h - what the subcommands of cairn share: the options every command
 * takes (repository, backend settings, verbosity), opening the repository
 * with its catalog in step, and exit statuses.
 */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

#include <getopt.h>

#include "backend/backend.h"
#include "ops/metrics.h"
#include "repo/repo.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3, /* a backup written without some files */
};

struct cmd_ctx {
	const char *prog; /* "cairn backup" */
	const char *repo; /* -r / $CAIRN_REPO */
	struct backend_options bo;
	int verbosity;	   /* -v raises, -q lowers */
	const char *usage; /* the synopsis lines, for errors and --help */
};

/* Long options every subcommand accepts; end a command's table with these
 * and COMMON_OPTIONS_END. */
enum {
	OPT_S3_ENDPOINT = 0x1000,
	OPT_S3_PATH_STYLE,
	OPT_INSECURE_TLS,
	OPT_CACERT,
	OPT_HELP,
	OPT_METRICS_FILE, /* --metrics-file, for the commands that take it */
	OPT_FIRST_COMMAND_OPTION = 0x1100,
};
#define COMMON_OPTIONS                                                                      \
	{ "repo", required_argument, NULL, 'r' },                                           \
		{ "s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT },                \
		{ "s3-path-style", no_argument, NULL, OPT_S3_PATH_STYLE },                  \
		{ "insecure-tls", no_argument, NULL, OPT_INSECURE_TLS },                    \
		{ "cacert", required_argument, NULL, OPT_CACERT },                          \
		{ "verbose", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' }, \
		{ "help", no_argument, NULL, OPT_HELP },                                    \
	{                                                                                   \
		NULL, 0, NULL, 0                                                            \
	}
#define COMMON_SHORT "r:vq"
#define METRICS_OPTION                                                    \
	{                                                                 \
		"metrics-file", required_argument, NULL, OPT_METRICS_FILE \
	}

/* With file (--metrics-file; NULL: nothing to do), records the run m of
 * the command that started at start_ns (now_ns()) in it: see
 * store/ops/metrics.h. A failure is logged as a warning and does not
 * change the command's exit status. */
void cmd_write_metrics(const struct cmd_ctx *ctx, const char *file, struct metrics_run *m,
		       uint64_t start_ns);

/* Handles an option every command shares. Returns 1 if it was one, 0 if
 * not, and exits for --help. */
int cmd_common_option(struct cmd_ctx *ctx, int opt, const char *arg);
/* Reports a usage error ("cairn backup: MESSAGE" plus the synopsis) and
 * returns EXIT_USAGE. */
int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Applies -v/-q and $CAIRN_REPO; returns EXIT_USAGE (reported) when no
 * repository was named. */
int cmd_finish_options(struct cmd_ctx *ctx);

/* Opens the repository, its catalog, and brings the catalog's snapshot list
 * up to date. Errors are logged. */
int cmd_open(struct cmd_ctx *ctx, struct repo **ret_repo, struct catalog **ret_cat);

/* Closes what cmd_open() opened; with -v, first reports the backend
 * requests and bytes the command cost. */
void cmd_close(const struct cmd_ctx *ctx, struct repo *repo, struct catalog *cat);

/* Takes the operands SNAP [PATH] (PATH "" when absent) of ls, restore and
 * export: EXIT_OK, or EXIT_USAGE (reported). */
int cmd_snap_operands(const struct cmd_ctx *ctx, int argc, char **argv, const char **ret_snap,
		      const char **ret_path);

/* Redraws the progress line on stderr: "N[/TOTAL] WHAT, BYTES[/TOTAL]
 * (RATE), SECONDS[, ETA]" (totals and ETA when total_bytes is known), and
 * ends it when done. */
void cmd_progress_line(uint64_t start_ns, const char *what, uint64_t n, uint64_t total_n,
		       uint64_t bytes, uint64_t total_bytes, bool done);
/* True when stderr is a terminal (progress is shown only then). */
bool progress_wanted(void);
/* "2026-11-22T20:53:28.000000000Z" into out (40 bytes). */
void format_iso_time(int64_t sec, uint32_t nsec, char out[40]);
/* "file", "dir", "symlink", "fifo", "char", "block" or "socket" for st_mode. */
const char *mode_type_name(uint32_t mode);
/* 0 when member has a snapshot; else logs that it does not, naming the
 * members that exist, and returns -ENOENT. */
int cmd_check_member(struct repo *repo, struct catalog *cat, const char *member);
/* The snapshots of member (all when NULL) in catalog order, as a malloc'd
 * array the caller frees. */
int cmd_list_snapshots(struct catalog *cat, const char *member, struct cat_snapshot **ret,
		       size_t *ret_n);
/* Loads the trees of snaps[0..n) the catalog lacks (fetching them from the
 * repository), first saying on stderr how many it fetches. Sets loaded. */
int cmd_load_trees(struct repo *repo, struct catalog *cat, struct cat_snapshot *snaps, size_t n);

int cmd_init(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_stats(int argc, char **argv);
/* Shared by cairn prune and cairn forget --prune (cmd-prune.c). */
struct prune_result;
void prune_report(const struct prune_result *res, bool dry_run);

int cmd_check(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_rehearse(int argc, char **argv);

#endif
