/*
 * cairn.c - the command-line tool: the table of subcommands, each with the
 * flags that tell tools/cli.c what to do for it before and after it runs
 * (cmd.h says what each flag means and how to add a command). Exit statuses
 * are the design's: 0 success, 1 failure, 2 usage, 3 partial backup.
 */
#include "cmd.h"
#include "base/log.h"

#include <sys/prctl.h>

static const struct command commands[] = {
	{ "init", &cmd_init, CMD_REPO | CMD_NO_OPERANDS | CMD_WRITES, "create a repository" },
	{ "backup", &cmd_backup, CMD_CATALOG | CMD_WRITES, "store a snapshot of a member" },
	{ "import", &cmd_import, CMD_CATALOG | CMD_WRITES,
	  "turn existing tar archives into snapshots" },
	{ "snapshots", &cmd_snapshots, CMD_MEMBER | CMD_JSON | CMD_NO_OPERANDS, "list snapshots" },
	{ "find", &cmd_find, CMD_MEMBER | CMD_JSON | CMD_TROUBLE_2,
	  "find paths by name in every snapshot" },
	{ "diff", &cmd_diff, CMD_CATALOG | CMD_JSON | CMD_TROUBLE_2,
	  "compare two snapshots, or a snapshot with a directory" },
	{ "stats", &cmd_stats, CMD_MEMBER | CMD_JSON | CMD_NO_OPERANDS,
	  "sizes, deduplication, compression and reclaimable space" },
	{ "mount", &cmd_mount, CMD_REPO, "mount the repository read-only (runs cairnfs)" },
	{ "check", &cmd_check, CMD_CATALOG | CMD_NO_OPERANDS,
	  "verify the repository (--read-data: its data too)" },
	{ "forget", &cmd_forget, CMD_CATALOG | CMD_NO_OPERANDS | CMD_WRITES,
	  "remove snapshots by a retention policy" },
	{ "prune", &cmd_prune, CMD_CATALOG | CMD_NO_OPERANDS | CMD_WRITES,
	  "delete data no snapshot references" },
	{ "ls", &cmd_ls, CMD_SNAP | CMD_JSON, "list a directory of a snapshot" },
	{ "restore", &cmd_restore, CMD_SNAP, "recreate a snapshot in a local directory" },
	{ "export", &cmd_export, CMD_SNAP, "write a snapshot to stdout as a tar archive" },
	{ "key", &cmd_key, CMD_OPEN | CMD_WRITES,
	  "list, add, remove or change the passwords of a repository" },
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
	/* No core dump may carry a password or a key. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
			return cmd_main(&commands[i], argc - 1, argv + 1);
	fprintf(stderr, "cairn: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
