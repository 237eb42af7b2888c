/*
 * cairn.c - the command-line tool: finds the subcommand and hands it argv.
 * Each subcommand lives in its own cmd-<name>.c and returns the exit
 * status the design fixes: 0 success, 1 failure, 2 usage, 3 partial backup.
 */
#include "cmd.h"
#include "base/log.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, "create a repository" },
	{ "backup", cmd_backup, "store a snapshot of a member" },
	{ "snapshots", cmd_snapshots, "list snapshots" },
	{ "find", cmd_find, "find paths by name in every snapshot" },
	{ "diff", cmd_diff, "compare two snapshots, or a snapshot with a directory" },
	{ "stats", cmd_stats, "sizes, deduplication, compression and reclaimable space" },
	{ "mount", cmd_mount, "mount the repository read-only (runs cairnfs)" },
	{ "check", cmd_check, "verify the repository (--read-data: its data too)" },
	{ "forget", cmd_forget, "remove snapshots by a retention policy" },
	{ "prune", cmd_prune, "delete data no snapshot references" },
	{ "ls", cmd_ls, "list a directory of a snapshot" },
	{ "restore", cmd_restore, "recreate a snapshot in a local directory" },
	{ "export", cmd_export, "write a snapshot to stdout as a tar archive" },
	{ "rehearse", cmd_rehearse, "restore to a scratch directory and verify it, then clean up" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cairn COMMAND -r REPO [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'cairn COMMAND --help' shows a command's options; see cairn(1).\n");
}

int main(int argc, char **argv)
{
	log_setup("cairn", LOG_TARGET_STDERR, LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cairn %s\n", CAIRN_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cairn: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
