/*
 * password.c - read a repository password from a file, the environment or
 * the terminal, the same way for every command and for cairnfs (which reads
 * it before it daemonizes, while it still has a terminal).
 *
 * A password file must not be readable by group or others: a password any
 * local user can read protects nothing, so such a file is refused with the
 * chmod that fixes it. One trailing newline (or CR LF) is not part of the
 * password. The prompt goes to /dev/tty with echo off, so it works with
 * stdin and stdout redirected, and is restored even when reading fails.
 * Passwords are wiped before they are freed; none is ever logged.
 */
#include "repo/password.h"
#include "base/log.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

void password_free(char *p)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, strlen(p));
	free(p);
}

static void chomp(char *s, size_t *len)
{
	if (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
	if (*len > 0 && s[*len - 1] == '\r')
		s[--*len] = '\0';
}

static int from_file(const char *path, char **ret)
{
	AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return log_error_errno(-errno, "cannot open the password file '%s'", path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "cannot stat the password file '%s'", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_error("password file '%s' may be read by group or others (mode %04o)", path,
			  (unsigned)(st.st_mode & 07777));
		log_error("hint: chmod 600 '%s'", path);
		return -EPERM;
	}
	char *p = xmalloc(PASSWORD_MAX + 2);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, p + len, PASSWORD_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			password_free(p);
			return log_error_errno(e, "cannot read the password file '%s'", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > PASSWORD_MAX)
			break;
	}
	p[len] = '\0';
	if (len > PASSWORD_MAX) {
		OPENSSL_cleanse(p, len);
		free(p);
		log_error("password file '%s' is longer than %d bytes", path, PASSWORD_MAX);
		return -EINVAL;
	}
	chomp(p, &len);
	*ret = p;
	return 0;
}

/* Prompts on the terminal with echo off; -ENOKEY when there is none. */
static int from_tty(const char *prompt, char **ret)
{
	AUTOCLOSE int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, quiet;

	if (fd < 0 || tcgetattr(fd, &old) < 0)
		return -ENOKEY;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		return -ENOKEY;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nothing to do: the read below still works */
	}
	char *p = xmalloc(PASSWORD_MAX + 2);
	size_t len = 0;
	int r = 0;
	while (len <= PASSWORD_MAX) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0 || c == '\n')
			break;
		p[len++] = c;
	}
	p[len] = '\0';
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* the password was read; a lost newline does not matter */
	}
	if (r == 0 && len > PASSWORD_MAX)
		r = -EINVAL;
	if (r < 0) {
		OPENSSL_cleanse(p, len);
		free(p);
		return r;
	}
	chomp(p, &len);
	*ret = p;
	return 0;
}

static int nonempty(char *p, char **ret)
{
	if (!*p) {
		password_free(p);
		log_error("the password is empty");
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

/* Asks twice; -EINVAL (logged) when the answers differ. */
static int from_tty_twice(const char *prompt, char **ret)
{
	AUTOPASSWORD char *p = NULL;
	AUTOPASSWORD char *again = NULL;
	AUTOFREE char *prompt2 = xasprintf("%s(again) ", prompt);
	int r;

	r = from_tty(prompt, &p);
	if (r == 0)
		r = from_tty(prompt2, &again);
	if (r < 0)
		return r;
	if (strcmp(p, again) != 0) {
		log_error("the two passwords differ");
		return -EINVAL;
	}
	*ret = TAKE(p);
	return 0;
}

/* Takes the password from the environment variable name: a copy in *ret,
 * and the variable's value overwritten in place and removed, so that
 * neither /proc/PID/environ (which shows the memory the environment came
 * in, whatever unsetenv() does) nor a child shows it while cairn runs. */
static int from_env(const char *name, char **ret)
{
	size_t len = strlen(name);

	*ret = xstrdup(getenv(name));
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			OPENSSL_cleanse(*e + len + 1, strlen(*e + len + 1));
	unsetenv(name);
	return 0;
}

static int read_password(const char *file, bool twice, char **ret)
{
	const char *env;
	char *p = NULL;
	int r;

	if (file)
		r = from_file(file, &p);
	else if ((env = getenv("CAIRN_PASSWORD")) && *env)
		r = from_env("CAIRN_PASSWORD", &p);
	else if ((env = getenv("CAIRN_PASSWORD_FILE")) && *env)
		r = from_file(env, &p);
	else {
		r = twice ? from_tty_twice("repository password: ", &p)
			  : from_tty("repository password: ", &p);
		if (r == -ENOKEY) {
			log_error("the repository is encrypted and no password was given");
			log_error("hint: set CAIRN_PASSWORD or CAIRN_PASSWORD_FILE, or pass "
				  "--password-file");
		}
	}
	if (r < 0)
		return r;
	return nonempty(p, ret);
}

int password_read(const char *file, char **ret)
{
	return read_password(file, false, ret);
}

int password_read_confirm(const char *file, char **ret)
{
	return read_password(file, true, ret);
}

int password_read_new(const char *file, char **ret)
{
	const char *env;
	char *p = NULL;
	int r;

	if (file)
		r = from_file(file, &p);
	else if ((env = getenv("CAIRN_NEW_PASSWORD")) && *env)
		r = from_env("CAIRN_NEW_PASSWORD", &p);
	else {
		r = from_tty_twice("new password: ", &p);
		if (r == -ENOKEY) {
			log_error("a new password is needed and none was given");
			log_error("hint: set CAIRN_NEW_PASSWORD or pass --new-password-file");
		}
	}
	if (r < 0)
		return r;
	return nonempty(p, ret);
}
