/*
 * metrics.c - --metrics-file for the commands that take it (backup, check,
 * prune, restore, rehearse): fills in the time and the repository and
 * hands the run to store/ops/metrics.c, which merges it into the file.
 */
#include "cmd.h"
#include "base/log.h"

#include <time.h>

void cmd_write_metrics(const struct cmd_ctx *ctx, const char *file, struct metrics_run *m,
		       uint64_t start_ns)
{
	struct timespec now;

	if (!file)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	m->repo = ctx->repo;
	m->duration_ns = now_ns() - start_ns;
	if (metrics_write(file, m, (double)now.tv_sec + (double)now.tv_nsec / 1e9) < 0)
		log_warning("the metrics in '%s' are not up to date (the command's own result "
			    "stands)",
			    file);
}
