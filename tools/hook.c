/*
 * hook.c - run a user's hook command and catch the signals that must not
 * skip --after.
 *
 * The child gets the parent's environment plus the CAIRN_* variables,
 * less the repository's passwords, built before fork() so the child only
 * calls execve(). Its stdin, stdout and stderr are cairn's own: a hook's
 * messages reach the operator. The signal handler only records the
 * signal; the backup polls it (backup_options.cancel) and stops at its
 * next step.
 */
#include "hook.h"
#include "base/log.h"
#include "base/util.h"

#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

volatile sig_atomic_t hook_signal;

/* The first signal asks the backup to stop; a second one ends cairn at
 * once, as if nothing had caught it. */
static void on_signal(int sig)
{
	if (hook_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	hook_signal = sig;
}

void hook_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The repository's passwords, which no child needs: cairn has read them
 * already, and a hook or dump command (and whatever it starts) could
 * otherwise show them in its /proc/PID/environ or pass them on. */
static bool is_secret(const char *var)
{
	static const char *const secret[] = { "CAIRN_PASSWORD=", "CAIRN_NEW_PASSWORD=" };
	for (size_t i = 0; i < ARRAY_SIZE(secret); i++)
		if (strncmp(var, secret[i], strlen(secret[i])) == 0)
			return true;
	return false;
}

char **hook_child_env(const char *const *env, size_t n)
{
	size_t n_env = 0;
	while (environ[n_env])
		n_env++;
	char **envp = xcalloc(n_env + n + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++) {
		bool replaced = is_secret(environ[i]);
		for (size_t j = 0; j < n && !replaced; j++) {
			size_t len = strcspn(env[j], "=") + 1;
			if (strncmp(environ[i], env[j], len) == 0)
				replaced = true;
		}
		if (!replaced)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < n; j++)
		envp[k++] = (char *)env[j];
	envp[k] = NULL;
	return envp;
}

int hook_run(const char *what, const char *cmd, const char *const *env, size_t n)
{
	AUTOFREE char **envp = hook_child_env(env, n);

	log_debug("running the %s command: %s", what, cmd);
	pid_t pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "cannot start the %s command", what);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		char sh[] = "sh", dash_c[] = "-c";
		execve("/bin/sh", (char *const[]){ sh, dash_c, (char *)cmd, NULL }, envp);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return log_error_errno(-errno, "cannot wait for the %s command", what);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
