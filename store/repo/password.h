/*
 * password.h - where the password of an encrypted repository comes from,
 * the same for every cairn command and for cairnfs: --password-file F (or
 * -o password_file=F), $CAIRN_PASSWORD, $CAIRN_PASSWORD_FILE, else a prompt
 * without echo on the controlling terminal. A new password (cairn init,
 * cairn key add and passwd) comes from --new-password-file F,
 * $CAIRN_NEW_PASSWORD, else a prompt asked twice.
 */
#ifndef CAIRN_PASSWORD_H
#define CAIRN_PASSWORD_H

#include "base/util.h"

#define PASSWORD_MAX 4096 /* bytes; longer files are refused */

/* Reads the password into a malloc'd string (free it with password_free()).
 * file is --password-file's argument or NULL. Errors are logged with a hint:
 * -ENOKEY when no source gives one (no variable, no file, no terminal),
 * -EPERM for a file that group or others may read, -EINVAL for an empty
 * password or an overlong file, or the error opening the file. */
int password_read(const char *file, char **ret) WARN_UNUSED;
/* The same, but a prompt asks twice (cairn init: the first password). */
int password_read_confirm(const char *file, char **ret) WARN_UNUSED;
/* The same for a new password, from file, $CAIRN_NEW_PASSWORD or a prompt
 * that asks twice; -EINVAL (logged) when the two differ. */
int password_read_new(const char *file, char **ret) WARN_UNUSED;
/* Wipes and frees p; accepts NULL. */
void password_free(char *p);
static inline void password_freep(char **p)
{
	password_free(*p);
}
#define AUTOPASSWORD CLEANUP(password_freep)

#endif
