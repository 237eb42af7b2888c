/*
 * private-dir.c - make and check directories and files that only their
 * user can change.
 *
 * The threat is another local user who creates the cache directory first
 * (or a symlink where it will be), waits for cairn to fill it, and then
 * swaps in a catalog of their own. Walking the path from the root with
 * lstat() and refusing any component that someone else could replace
 * closes that: a directory owned by root or the user and not writable by
 * others (or sticky, like /tmp, where others cannot rename what is ours)
 * cannot have its entries swapped. Symlinks are refused, except root's
 * above the last component (/var/run -> /run), since only root could
 * change where those point.
 */
#include "repo/private-dir.h"
#include "base/log.h"

#include <fcntl.h>
#include <sys/stat.h>

/* Checks one existing component; last says it is the directory itself. */
static int check_component(const char *p, const char *what, bool last, uid_t uid)
{
	struct stat st;

	if (lstat(p, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		if (last || st.st_uid != 0)
			return log_error_errno(-ELOOP, "%s: '%s' is a symbolic link", what, p);
		if (stat(p, &st) < 0)
			return log_error_errno(-errno, "%s: cannot follow '%s'", what, p);
	}
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "%s: '%s' is not a directory", what, p);
	if (last) {
		if (st.st_uid != uid)
			return log_error_errno(-EPERM, "%s: '%s' belongs to uid %u, not to you",
					       what, p, (unsigned)st.st_uid);
		/* Ours, so others may have written into it but cannot have made
		 * anything there that passes the checks of what we read inside
		 * (owned by us, no symlinks): narrowing it is enough. */
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			log_warning("%s: '%s' was writable by other users (mode %04o); making it "
				    "private",
				    what, p, (unsigned)(st.st_mode & 07777));
		if ((st.st_mode & 077) && chmod(p, 0700) < 0)
			return log_error_errno(-errno, "%s: cannot make '%s' private", what, p);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != uid)
		return log_error_errno(-EPERM, "%s: '%s' belongs to uid %u, neither root nor you",
				       what, p, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return log_error_errno(-EPERM, "%s: '%s' may be changed by other users (mode %04o)",
				       what, p, (unsigned)(st.st_mode & 07777));
	return 0;
}

int private_dir_make(const char *path, const char *what)
{
	AUTOFREE char *full = NULL;
	uid_t uid = geteuid();
	int r;

	if (path[0] == '/') {
		full = xstrdup(path);
	} else {
		AUTOFREE char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return log_error_errno(-errno, "%s: cannot find the working directory",
					       what);
		full = xasprintf("%s/%s", cwd, path);
	}
	/* Drop trailing slashes, so the last component is the directory. */
	for (size_t n = strlen(full); n > 1 && full[n - 1] == '/'; n--)
		full[n - 1] = '\0';

	for (char *s = full + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		bool last = c == '\0';
		if (s > full && s[-1] == '/') { /* "//" */
			if (last)
				return 0;
			continue;
		}
		*s = '\0';
		r = check_component(full, what, last, uid);
		if (r == -ENOENT) {
			if (mkdir(full, 0700) < 0 && errno != EEXIST)
				return log_error_errno(-errno, "%s: cannot create '%s'", what,
						       full);
			r = check_component(full, what, last, uid);
		}
		if (r < 0) {
			if (r == -ENOENT)
				log_error_errno(r, "%s: '%s' vanished", what, full);
			return r;
		}
		*s = c;
		if (last)
			return 0;
	}
}

/* Narrows an existing file of the user's to 0600; absent is fine. */
static int narrow(const char *path, bool create)
{
	AUTOCLOSE int fd =
		open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	struct stat st;

	if (fd < 0 && errno == ENOENT && !create)
		return 0;
	if (fd < 0 && errno == ELOOP)
		return log_error_errno(-ELOOP, "'%s' is a symbolic link", path);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(-EPERM, "'%s' is not a regular file", path);
	if (st.st_uid != geteuid())
		return log_error_errno(-EPERM, "'%s' belongs to uid %u, not to you", path,
				       (unsigned)st.st_uid);
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0)
		return log_error_errno(-errno, "cannot make '%s' private", path);
	return 0;
}

int private_file_prepare(const char *path)
{
	int r = narrow(path, true);

	for (int i = 0; r == 0 && i < 2; i++) {
		AUTOFREE char *side = xasprintf("%s%s", path, i ? "-shm" : "-wal");
		r = narrow(side, false);
	}
	return r;
}
