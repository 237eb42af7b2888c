/*
 * cmd-mount.c - cairn mount: the same as cairnfs (the FUSE daemon lives in
 * its own program, so the CLI never links libfuse). Runs the cairnfs that
 * sits beside this binary, else the one on $PATH; the backend options
 * (--s3-endpoint, --s3-path-style, --cacert, --insecure-tls) travel as
 * cairnfs -o options.
 */
#include "cmd.h"
#include "base/log.h"

#include <limits.h>

static char *sibling_cairnfs(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	char *path = xasprintf("%s/cairnfs", self);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/* Appends ",name=value" to o, escaping what fuse_opt would split on. */
static void add_option(struct buf *o, const char *name, const char *value)
{
	if (o->len > 0)
		buf_append_u8(o, ',');
	buf_append(o, name, strlen(name));
	if (!value)
		return;
	buf_append_u8(o, '=');
	for (const char *p = value; *p; p++) {
		if (*p == ',' || *p == '\\')
			buf_append_u8(o, '\\');
		buf_append_u8(o, (uint8_t)*p);
	}
}

struct mount_cli {
	const char *opts; /* -o */
	bool foreground;  /* -f */
};

static int mount_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct mount_cli *m = ctx->opts;

	switch (opt) {
	case 'o':
		m->opts = arg;
		return EXIT_OK;
	case 'f':
		m->foreground = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int mount_check(struct cmd_ctx *ctx)
{
	if (ctx->n_args != 1)
		return cmd_usage_error(ctx, "expected exactly one MOUNTPOINT");
	return EXIT_OK;
}

static int mount_run(struct cmd_ctx *ctx)
{
	const struct mount_cli *m = ctx->opts;
	AUTOBUF struct buf all = BUF_INIT;

	if (m->opts)
		buf_append(&all, m->opts, strlen(m->opts));
	if (ctx->bo.s3_endpoint)
		add_option(&all, "s3_endpoint", ctx->bo.s3_endpoint);
	if (ctx->bo.s3_path_style)
		add_option(&all, "s3_path_style", NULL);
	if (ctx->bo.insecure_tls)
		add_option(&all, "insecure_tls", NULL);
	if (ctx->bo.cacert)
		add_option(&all, "cacert", ctx->bo.cacert);
	/* The file's name, never the password: cairnfs reads it itself, as it
	 * reads $CAIRN_PASSWORD, which it inherits, or prompts on the terminal. */
	if (ctx->password_file) {
		char abs[PATH_MAX];
		add_option(&all, "password_file",
			   realpath(ctx->password_file, abs) ? abs : ctx->password_file);
	}
	buf_append_u8(&all, '\0');

	AUTOFREE char *prog = sibling_cairnfs();
	const char *args[8];
	int n = 0;
	args[n++] = "cairnfs";
	args[n++] = ctx->repo_name;
	args[n++] = ctx->args[0];
	if (m->foreground)
		args[n++] = "-f";
	if (all.len > 1) {
		args[n++] = "-o";
		args[n++] = (const char *)all.ptr;
	}
	args[n] = NULL;
	if (prog)
		execv(prog, (char *const *)args);
	else
		execvp("cairnfs", (char *const *)args);
	log_error_errno(-errno, "cannot run cairnfs");
	log_error("hint: install cairnfs next to cairn or on $PATH");
	return EXIT_FAILURE_;
}

const struct cmd_def cmd_mount = {
	.usage = "cairn mount -r REPO MOUNTPOINT [-f] [-o OPTS]",
	.options =
		(const struct option[]){
			{ "foreground", no_argument, NULL, 'f' },
			{ NULL, 0, NULL, 0 },
		},
	.short_options = "o:f",
	.opts_size = sizeof(struct mount_cli),
	.option = mount_option,
	.check = mount_check,
	.run = mount_run,
};
