/*
 * cmd.h - how cairn's subcommands are built. As git's builtins do, each
 * subcommand is a thin shell: tools/cmd-<name>.c declares its own options
 * and makes its call into store/; everything the subcommands share lives
 * once, in tools/cli.c: the common options (-r/--repo and $CAIRN_REPO, the
 * backend options, -v/-q, --help, and --json and --member where a command
 * takes them), the operands SNAP [PATH], resolving SNAP, opening the
 * repository and its catalog, and closing them.
 *
 * What cmd_main() does with a command, in this order (the order decides
 * which error a user sees first, so keep it):
 *
 *   1. parses the options: the common ones into struct cmd_ctx, the
 *      command's own through its option() hook;
 *   2. CMD_NO_OPERANDS: refuses any operand; then the operands() hook;
 *   3. sets the log level from -v/-q; CMD_REPO: requires -r or $CAIRN_REPO;
 *   4. CMD_SNAP: takes the operands SNAP [PATH]; then the check() hook;
 *   5. CMD_OPEN: opens the repository (ctx->repo) and, when it is
 *      encrypted, unlocks it with the password (--password-file,
 *      $CAIRN_PASSWORD, $CAIRN_PASSWORD_FILE or a prompt); CMD_CATALOG:
 *      opens its catalog too and brings it in step (ctx->cat);
 *   6. CMD_MEMBER: with --member M, checks that M has snapshots; CMD_SNAP:
 *      resolves SNAP (ctx->snap);
 *   7. calls run(), whose return value is the exit status;
 *   8. closes what 5 opened (with -v, reporting the backend's traffic);
 *   9. calls the release() hook, whichever step ended the run.
 *
 * To add a subcommand: write tools/cmd-<name>.c defining
 *     const struct cmd_def cmd_<name> = { .usage = ..., .run = ... };
 * with whichever hooks it needs, declare it at the bottom of this file, and
 * add one line, with its flags and summary, to the table in tools/cairn.c.
 * Nothing else changes (the Makefile builds every .c in tools/); document it in
 * man/cairn.1.
 *
 * To add a common option (--password-file, --metrics-file, ...): give it a
 * field in struct cmd_ctx and, unless it is a letter, an OPT_ value below,
 * and add one line to common_options[] in tools/cli.c: what it sets
 * (a string, a flag, a count), its words for --help, and the CMD_ flag a
 * command must carry to be offered it (0: every command), as --json and
 * --member have. Commands then read it from ctx; the parser, --help and
 * the short options follow from that line.
 */
#ifndef CAIRN_CMD_H
#define CAIRN_CMD_H

#include <getopt.h>

#include "backend/backend.h"
#include "catalog/catalog.h"
#include "repo/repo.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3, /* a backup written without some files */
};

/* What a command is, in the table of tools/cairn.c. */
enum cmd_flags {
	CMD_REPO = 1u << 0,		    /* names a repository: -r REPO or $CAIRN_REPO */
	CMD_OPEN = 1u << 1 | CMD_REPO,	    /* opens it: ctx->repo */
	CMD_CATALOG = 1u << 2 | CMD_OPEN,   /* opens its catalog, synced: ctx->cat */
	CMD_WRITES = 1u << 3,		    /* changes the repository: its store/ call takes
					     * the repository lock (said for readers of the
					     * table; the parser does nothing with it yet) */
	CMD_JSON = 1u << 4,		    /* takes --json: ctx->json */
	CMD_MEMBER = 1u << 5 | CMD_CATALOG, /* takes --member M, which must have snapshots */
	CMD_NO_OPERANDS = 1u << 6,	    /* takes no operands */
	CMD_SNAP = 1u << 7 | CMD_CATALOG,   /* takes SNAP [PATH]: ctx->snap, ctx->path */
	CMD_TROUBLE_2 = 1u << 8,	    /* fails with 2, not 1 (grep's and diff's way,
					     * where 1 is an answer) */
};

struct command;

/* The state of one run of a command, filled by cmd_main(). */
struct cmd_ctx {
	const struct command *cmd;
	char prog[32];	       /* "cairn backup" */
	const char *usage;     /* the synopsis lines, for errors and --help */
	const char *repo_name; /* -r / $CAIRN_REPO */
	struct backend_options bo;
	int verbosity;		   /* -v raises, -q lowers */
	bool json;		   /* --json (CMD_JSON) */
	const char *member;	   /* --member (CMD_MEMBER), or NULL */
	const char *password_file; /* --password-file (CMD_REPO), or NULL */
	int argc;		   /* the command's whole argv, argv[0] its name */
	char **argv;
	int n_args; /* the operands, after the options */
	char **args;
	const char *snap_ref;	  /* CMD_SNAP: the SNAP operand as given */
	const char *path;	  /* CMD_SNAP: the PATH operand, "" when absent */
	struct repo *repo;	  /* CMD_OPEN, from step 5 on */
	struct catalog *cat;	  /* CMD_CATALOG, from step 5 on */
	struct cat_snapshot snap; /* CMD_SNAP, from step 6 on */
	void *opts;		  /* the command's own state (cmd_def.opts_size bytes) */
};

/* What a cmd-<name>.c defines. Hooks other than run may be NULL. Every hook
 * but run returns EXIT_OK to go on, or an exit status (reported: usually by
 * cmd_usage_error()). */
struct cmd_def {
	const char *usage;
	const struct option *options; /* its own long options, NULL-terminated; or NULL */
	const char *short_options;    /* its own short ones ("lR"), or NULL */
	size_t opts_size;	      /* bytes of ctx->opts, zeroed before init() */
	/* Sets defaults in ctx->opts, before the options are parsed. */
	void (*init)(struct cmd_ctx *ctx);
	/* One of its own options (from options or short_options). */
	int (*option)(struct cmd_ctx *ctx, int opt, const char *arg);
	/* Takes the operands (ctx->args), before the repository is required. */
	int (*operands)(struct cmd_ctx *ctx);
	/* Checks what was given, once a repository is named; nothing is open. */
	int (*check)(struct cmd_ctx *ctx);
	/* Does the work; returns the exit status. */
	int (*run)(struct cmd_ctx *ctx);
	/* Frees what init() or option() allocated in ctx->opts; called last,
	 * however cmd_main() ends (but not after --help, which exits). */
	void (*release)(struct cmd_ctx *ctx);
};

struct command {
	const char *name;
	const struct cmd_def *def;
	unsigned flags; /* enum cmd_flags */
	const char *summary;
};

/* Option values the shared parser hands out; a command numbers its own long
 * options from OPT_FIRST_COMMAND_OPTION (or uses a short option's letter). */
enum {
	OPT_S3_ENDPOINT = 0x1000,
	OPT_S3_PATH_STYLE,
	OPT_INSECURE_TLS,
	OPT_CACERT,
	OPT_HELP,
	OPT_JSON,
	OPT_MEMBER,
	OPT_PASSWORD_FILE,
	OPT_FIRST_COMMAND_OPTION = 0x1100,
};

/* Runs cmd with argv (argv[0] the command's name) as described at the top;
 * returns the exit status. */
int cmd_main(const struct command *cmd, int argc, char **argv);

/* Reports a usage error ("cairn backup: MESSAGE" plus the synopsis) and
 * returns EXIT_USAGE. */
int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* EXIT_FAILURE_, or 2 for a CMD_TROUBLE_2 command. */
int cmd_failure(const struct cmd_ctx *ctx);

/* Parses --kdf-params N,r,p (scrypt, within the bounds every reader
 * accepts); -EINVAL when malformed or out of bounds. */
int cmd_parse_kdf_params(const char *s, struct scrypt_params *ret) WARN_UNUSED;

/* Resolves a SNAP operand (MEMBER/TIMESTAMP, MEMBER/latest or an id prefix;
 * see repo_resolve_snapshot()): 0, or -ENOENT / -ENOTUNIQ having said what
 * exists. quiet says nothing when ref names no snapshot (-ENOENT), for a
 * caller that then tries another meaning of the operand. */
int cmd_resolve_snapshot(struct cmd_ctx *ctx, const char *ref, bool quiet,
			 struct cat_snapshot *ret);

/* Redraws the progress line on stderr: "N[/TOTAL] WHAT, BYTES[/TOTAL]
 * (RATE), SECONDS[, ETA]" (totals and ETA when total_bytes is known), and
 * ends it when done. */
void cmd_progress_line(uint64_t start_ns, const char *what, uint64_t n, uint64_t total_n,
		       uint64_t bytes, uint64_t total_bytes, bool done);
/* True when progress should be drawn: stderr is a terminal and no -q. */
bool cmd_progress_wanted(const struct cmd_ctx *ctx);
/* "2026-11-22T20:53:28.000000000Z" into out (40 bytes). */
void format_iso_time(int64_t sec, uint32_t nsec, char out[40]);
/* "file", "dir", "symlink", "fifo", "char", "block" or "socket" for st_mode. */
const char *mode_type_name(uint32_t mode);
/* The snapshots of member (all when NULL) in catalog order, as a malloc'd
 * array the caller frees. */
int cmd_list_snapshots(struct catalog *cat, const char *member, struct cat_snapshot **ret,
		       size_t *ret_n);
/* Loads the trees of snaps[0..n) the catalog lacks (fetching them from the
 * repository), first saying on stderr how many it fetches. Sets loaded. */
int cmd_load_trees(struct repo *repo, struct catalog *cat, struct cat_snapshot *snaps, size_t n);

/* Shared by cairn prune and cairn forget --prune (cmd-prune.c). */
struct prune_result;
void prune_report(const struct prune_result *res, bool dry_run);

/* What `cairn backup` reads instead of paths (backup-source.c): a tar
 * stream (tar: a file name or "-"), or one file NAME from standard input or
 * from the standard output of cmd (NULL-terminated argv, or NULL). */
struct backup_source {
	const char *tar;
	bool strip_unsafe;
	const char *stdin_name;
	char **cmd;
};
struct backup_options;
struct backup_result;
/* Runs the backup from src; errors are logged. */
int backup_from_source(struct repo *repo, struct catalog *cat, const struct backup_options *bo,
		       const struct backup_source *src, struct backup_result *ret);

/* The subcommands, one per cmd-<name>.c. */
extern const struct cmd_def cmd_init;
extern const struct cmd_def cmd_backup;
extern const struct cmd_def cmd_import;
extern const struct cmd_def cmd_snapshots;
extern const struct cmd_def cmd_mount;
extern const struct cmd_def cmd_find;
extern const struct cmd_def cmd_diff;
extern const struct cmd_def cmd_stats;
extern const struct cmd_def cmd_check;
extern const struct cmd_def cmd_forget;
extern const struct cmd_def cmd_prune;
extern const struct cmd_def cmd_ls;
extern const struct cmd_def cmd_restore;
extern const struct cmd_def cmd_export;
extern const struct cmd_def cmd_key;

#endif
