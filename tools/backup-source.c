/*
 * backup-source.c - the sources of `cairn backup` other than paths: --tar
 * FILE|- and --stdin NAME [-- CMD ARG...].
 *
 * With -- CMD, CMD runs with no shell (posix_spawnp, so $PATH is searched
 * and arguments pass as they are), its standard output into a pipe that
 * cairn chunks as it reads, its standard error and standard input those of
 * cairn, its environment cairn's less the passwords (hook_child_env()).
 * The snapshot is written only if CMD exits 0: the wait is the
 * stream's finish callback, which backup_stream() calls after the last byte
 * and before anything is committed. When the backup fails first, CMD gets
 * SIGTERM (its pipe is closed too) and is waited for, so no child is left.
 */
#include "cmd.h"
#include "hook.h"
#include "ops/ingest.h"
#include "base/log.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

struct child {
	pid_t pid;
	const char *name;
	bool waited;
};

/* The stream's finish callback: CMD must have exited 0. */
static int wait_child(void *userdata)
{
	struct child *ch = userdata;
	int status;

	while (waitpid(ch->pid, &status, 0) < 0) {
		if (errno != EINTR)
			return log_error_errno(-errno, "cannot wait for '%s'", ch->name);
	}
	ch->waited = true;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_error("'%s' exited with status %d; no snapshot was written", ch->name,
			  WEXITSTATUS(status));
	else
		log_error("'%s' was killed by signal %d (%s); no snapshot was written", ch->name,
			  WTERMSIG(status), strsignal(WTERMSIG(status)));
	return -ECANCELED;
}

static int spawn(char **cmd, int *ret_fd, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	int fds[2];
	pid_t pid;
	int r;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return log_error_errno(-errno, "cannot make a pipe for '%s'", cmd[0]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawnattr_init(&attr);
	/* Whatever cairn ignores, the dump command gets the usual defaults. */
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	AUTOFREE char **envp = hook_child_env(NULL, 0);
	r = posix_spawnp(&pid, cmd[0], &fa, &attr, cmd, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		return log_error_errno(-r, "cannot run '%s'", cmd[0]);
	}
	*ret_fd = fds[0];
	*ret_pid = pid;
	return 0;
}

static int from_stdin(struct repo *repo, struct catalog *cat, const struct backup_options *bo,
		      const struct backup_source *src, struct backup_result *ret)
{
	struct stream_options so = { .fd = STDIN_FILENO, .name = src->stdin_name };
	struct child ch = { 0 };
	int r;

	if (!src->cmd) {
		if (isatty(STDIN_FILENO))
			return log_error_errno(-EINVAL, "refusing to read '%s' from a terminal",
					       src->stdin_name);
		return backup_stream(repo, cat, bo, &so, ret);
	}
	r = spawn(src->cmd, &so.fd, &ch.pid);
	if (r < 0)
		return r;
	ch.name = src->cmd[0];
	so.finish = wait_child;
	so.finish_data = &ch;
	r = backup_stream(repo, cat, bo, &so, ret);
	close(so.fd);
	if (!ch.waited) {
		kill(ch.pid, SIGTERM);
		while (waitpid(ch.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return r;
}

int backup_from_source(struct repo *repo, struct catalog *cat, const struct backup_options *bo,
		       const struct backup_source *src, struct backup_result *ret)
{
	struct tar_options to = { .strip_unsafe = src->strip_unsafe };
	AUTOCLOSE int fd = -1;

	if (src->stdin_name)
		return from_stdin(repo, cat, bo, src, ret);
	if (strcmp(src->tar, "-") == 0) {
		if (isatty(STDIN_FILENO))
			return log_error_errno(-EINVAL,
					       "refusing to read a tar archive from a terminal");
		to.fd = STDIN_FILENO;
		to.name = "standard input";
	} else {
		fd = open(src->tar, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return log_error_errno(-errno, "cannot open '%s'", src->tar);
		to.fd = fd;
		to.name = src->tar;
	}
	return backup_tar(repo, cat, bo, &to, ret);
}
