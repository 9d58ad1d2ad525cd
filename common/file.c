/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers used by every module. */
#include "cm/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"

int
cm_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                struct cm_error **err)
{
    cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    cleanup_free char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fd < 0)
        return cm_error_errno(err, "open '%s'", path);
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cm_error_errno(err, "read '%s'", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > max)
            return cm_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
    }
    if (!buf)
        buf = xmalloc(1);
    buf[len] = '\0';
    *ret_buf = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int
cm_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                        struct cm_error **err)
{
    char tmp[PATH_MAX];
    cleanup_close int fd = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid()) >= sizeof(tmp))
        return cm_error_set(err, ENAMETOOLONG, "path too long: '%s'", name);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return cm_error_errno(err, "create '%s'", tmp);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        cm_error_errno(err, "write '%s'", tmp);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        cm_error_errno(err, "rename '%s' to '%s'", tmp, name);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    return 0;
}

int
cm_write_file_at(int dirfd, const char *path, const char *data, struct cm_error **err)
{
    cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return cm_error_errno(err, "open '%s'", path);
    if (write_all(fd, data, strlen(data)) < 0)
        return cm_error_errno(err, "write '%s' to '%s'", data, path);
    return 0;
}

int
cm_mkdir_p(const char *path, mode_t mode, struct cm_error **err)
{
    cleanup_free char *p = xstrdup(path);
    size_t len = strlen(p);

    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return cm_error_errno(err, "mkdir '%s'", p);
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return cm_error_errno(err, "mkdir '%s'", p);
    return 0;
}

/* dev: the filesystem not to leave (a directory elsewhere is a mount point
 * and an error); NULL: any. */
static int
rm_rf_at(int parent, const char *name, const dev_t *dev, struct cm_error **err)
{
    struct stat st;

    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : cm_error_errno(err, "stat '%s'", name);
    if (S_ISDIR(st.st_mode)) {
        if (dev && st.st_dev != *dev)
            return cm_error_set(err, EXDEV, "'%s' is a mount point", name);
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return cm_error_errno(err, "open '%s'", name);
        cleanup_dir DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return cm_error_errno(err, "opendir '%s'", name);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (rm_rf_at(dirfd(d), de->d_name, dev, err) < 0)
                return cm_error_wrap(err, "%s", name);
        }
        if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return cm_error_errno(err, "rmdir '%s'", name);
        return 0;
    }
    if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
        return cm_error_errno(err, "unlink '%s'", name);
    return 0;
}

int
cm_rm_rf(const char *path, struct cm_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : cm_error_errno(err, "stat '%s'", path);
    return rm_rf_at(AT_FDCWD, path, &st.st_dev, err);
}

int
cm_rm_rf_at(int dirfd, const char *name, struct cm_error **err)
{
    return rm_rf_at(dirfd, name, NULL, err);
}
