/*
 * metrics.c - --metrics-file for the commands that take it (CMD_METRICS:
 * backup, check, prune, restore, rehearse): completes what the command's
 * run() put in ctx->metrics (the repository, the command, the member, the
 * outcome, the time) and hands it to store/ops/metrics.c, which merges it
 * into the file. cmd_main() calls it after run(), and also when the
 * repository or the snapshot could not be opened, so an unreachable
 * repository shows as a failed run.
 */
#include "cmd.h"
#include "base/log.h"

#include <time.h>

void cmd_write_metrics(struct cmd_ctx *ctx, int status)
{
	struct metrics_run *m = &ctx->metrics;
	AUTOFREE char *member = NULL;
	struct timespec now;

	if (!ctx->metrics_file)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	m->repo = ctx->repo_name;
	m->command = ctx->cmd->name;
	m->success = status == EXIT_OK;
	if (!m->success && m->errors == 0)
		m->errors = 1;
	m->duration_ns = now_ns() - ctx->start_ns;
	if (!m->member && ctx->snap.member[0]) {
		m->member = ctx->snap.member;
	} else if (!m->member && ctx->snap_ref && strchr(ctx->snap_ref, '/')) {
		member = xstrdup(ctx->snap_ref);
		member[strcspn(member, "/")] = '\0';
		m->member = member;
	}
	if (metrics_write(ctx->metrics_file, m, (double)now.tv_sec + (double)now.tv_nsec / 1e9) < 0)
		log_warning("the metrics in '%s' are not up to date (the command's own result "
			    "stands)",
			    ctx->metrics_file);
}
