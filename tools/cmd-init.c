/*
 * cmd-init.c - cairn init: create a repository with its chunking and
 * compression settings, which are fixed for its life.
 */
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"

enum { OPT_NO_ENCRYPTION = OPT_FIRST_COMMAND_OPTION, OPT_CHUNK_SIZE, OPT_COMPRESSION };

struct init_opts {
	struct repo_config cfg;
	bool no_encryption;
};

static void init_defaults(struct cmd_ctx *ctx)
{
	struct init_opts *o = ctx->opts;
	o->cfg = repo_config_default();
}

static int init_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct init_opts *o = ctx->opts;
	uint64_t avg;

	switch (opt) {
	case OPT_NO_ENCRYPTION:
		o->no_encryption = true;
		return EXIT_OK;
	case OPT_CHUNK_SIZE:
		if (parse_size(arg, &avg) < 0 || chunker_params_from_avg(avg, &o->cfg.chunker) < 0)
			return cmd_usage_error(ctx,
					       "invalid --chunk-size '%s' (a size from 16K to 4M, "
					       "such as 1M)",
					       arg);
		return EXIT_OK;
	case OPT_COMPRESSION:
		if (parse_compression(arg, &o->cfg.zstd_level) < 0)
			return cmd_usage_error(ctx,
					       "invalid --compression '%s' (zstd, zstd:1..19 "
					       "or none)",
					       arg);
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int init_run(struct cmd_ctx *ctx)
{
	struct init_opts *o = ctx->opts;
	struct repo_config *cfg = &o->cfg;

	if (!o->no_encryption) {
		log_error("encrypted repositories are not available yet");
		log_error("hint: pass --no-encryption to create an unencrypted repository");
		return EXIT_USAGE;
	}
	if (cfg->pack_size < cfg->chunker.max_size)
		cfg->pack_size = cfg->chunker.max_size;
	if (repo_init(ctx->repo_name, &ctx->bo, cfg) < 0)
		return EXIT_FAILURE_;
	log_info("created repository '%s' (chunks about %u KiB, %s)", ctx->repo_name,
		 cfg->chunker.avg_size >> 10, cfg->zstd_level ? "zstd" : "uncompressed");
	return EXIT_OK;
}

const struct cmd_def cmd_init = {
	.usage = "cairn init -r REPO --no-encryption [--chunk-size AVG] "
		 "[--compression zstd:LEVEL|none]",
	.options =
		(const struct option[]){
			{ "no-encryption", no_argument, NULL, OPT_NO_ENCRYPTION },
			{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
			{ "compression", required_argument, NULL, OPT_COMPRESSION },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct init_opts),
	.init = init_defaults,
	.option = init_option,
	.run = init_run,
};
