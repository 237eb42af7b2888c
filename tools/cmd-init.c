/*
 * cmd-init.c - cairn init: create a repository with its chunking,
 * compression and encryption settings, which are fixed for its life. It is
 * encrypted unless --no-encryption is given; the first password comes from
 * the usual sources (a prompt asks twice), and scrypt is tuned to about a
 * second on this machine unless --kdf-params fixes it.
 */
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"
#include "repo/password.h"

enum {
	OPT_NO_ENCRYPTION = OPT_FIRST_COMMAND_OPTION,
	OPT_CHUNK_SIZE,
	OPT_COMPRESSION,
	OPT_KDF_PARAMS,
};

struct init_opts {
	struct repo_config cfg;
	bool no_encryption;
	bool have_kdf;
	struct scrypt_params kdf;
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
	case OPT_KDF_PARAMS:
		if (cmd_parse_kdf_params(arg, &o->kdf) < 0)
			return cmd_usage_error(ctx,
					       "invalid --kdf-params '%s' (N,r,p: N a power of "
					       "two from 16 to 2^20, r 1..32, p 1..16)",
					       arg);
		o->have_kdf = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int init_run(struct cmd_ctx *ctx)
{
	struct init_opts *o = ctx->opts;
	struct repo_config *cfg = &o->cfg;
	AUTOPASSWORD char *password = NULL;

	if (!o->no_encryption) {
		cfg->encryption = REPO_ENCRYPTION_AES256GCM;
		if (password_read_confirm(ctx->password_file, &password) < 0)
			return EXIT_FAILURE_;
		if (!o->have_kdf)
			o->kdf = crypto_scrypt_tune(1000);
	}
	if (cfg->pack_size < cfg->chunker.max_size)
		cfg->pack_size = cfg->chunker.max_size;
	if (repo_init(ctx->repo_name, &ctx->bo, cfg, password, o->no_encryption ? NULL : &o->kdf) <
	    0)
		return EXIT_FAILURE_;
	log_info("created repository '%s' (chunks about %u KiB, %s, %s)", ctx->repo_name,
		 cfg->chunker.avg_size >> 10, cfg->zstd_level ? "zstd" : "uncompressed",
		 o->no_encryption ? "not encrypted" : "encrypted with AES-256-GCM");
	return EXIT_OK;
}

const struct cmd_def cmd_init = {
	.usage = "cairn init -r REPO [--no-encryption] [--kdf-params N,r,p] [--chunk-size AVG] "
		 "[--compression zstd:LEVEL|none]",
	.options =
		(const struct option[]){
			{ "no-encryption", no_argument, NULL, OPT_NO_ENCRYPTION },
			{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
			{ "compression", required_argument, NULL, OPT_COMPRESSION },
			{ "kdf-params", required_argument, NULL, OPT_KDF_PARAMS },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct init_opts),
	.init = init_defaults,
	.option = init_option,
	.run = init_run,
};
