/*
 * hook.h - the --before and --after commands of cairn backup: run through
 * /bin/sh -c with CAIRN_* variables added to the environment, and the
 * SIGINT/SIGTERM handling that lets --after run when a backup is
 * interrupted.
 */
#ifndef CAIRN_HOOK_H
#define CAIRN_HOOK_H

#include <signal.h>
#include <stddef.h>

/* Set (to the signal number) once SIGINT or SIGTERM arrived after
 * hook_catch_signals(). */
extern volatile sig_atomic_t hook_signal;

/* Makes the first SIGINT or SIGTERM set hook_signal instead of ending the
 * process (a second one ends it). Call once, before any thread starts. */
void hook_catch_signals(void);

/* The environment of a child cairn starts (hooks, dump commands): cairn's
 * own, less $CAIRN_PASSWORD and $CAIRN_NEW_PASSWORD, with env (n
 * "NAME=VALUE" strings) added or replacing. The array is malloc'd (free()
 * it); its strings are not copies. */
char **hook_child_env(const char *const *env, size_t n);

/* Runs cmd through /bin/sh -c, with env (n "NAME=VALUE" strings) added to
 * the environment, and waits for it. Returns its exit status (0..255),
 * 128 + N when signal N ended it, or -errno when it could not be started
 * (logged). what names it in messages ("--before"). */
int hook_run(const char *what, const char *cmd, const char *const *env, size_t n);

#endif
