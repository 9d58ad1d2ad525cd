/* SPDX-License-Identifier: Apache-2.0 */
/* process.terminal: a pty opened inside the container, its master sent to the
 * client over the console socket (SCM_RIGHTS), its slave made the controlling
 * terminal, stdio and /dev/console. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cm/cleanup.h"

int
rt_console_connect(const char *path, struct cm_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cleanup_close int fd = -1;

    if (strlen(path) >= sizeof(sa.sun_path))
        return cm_error_set(err, ENAMETOOLONG, "console socket path '%s' too long", path);
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cm_error_errno(err, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return cm_error_errno(err, "connect to console socket '%s'", path);
    return TAKE_FD(fd);
}

static int
send_fd(int sock, int fd, const char *name)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c;

    memset(cbuf, 0, sizeof(cbuf));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int
rt_console_setup(int sock, const struct rt_process *p, bool mount_console, struct cm_error **err)
{
    cleanup_close int master = -1;
    cleanup_close int slave = -1;
    int unlock = 0, ptn = 0;
    char name[64];

    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return cm_error_errno(err, "open /dev/ptmx");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0)
        return cm_error_errno(err, "unlock pty");
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return cm_error_errno(err, "open pty peer");
    snprintf(name, sizeof(name), "/dev/pts/%d", ptn);
    if (p->has_console_size) {
        struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
                             .ws_col = (unsigned short)p->console_size.width};
        ioctl(master, TIOCSWINSZ, &ws);
    }
    if (fchown(slave, p->user.uid, p->user.gid) < 0 && errno != EINVAL && errno != EPERM)
        return cm_error_errno(err, "chown '%s'", name);
    if (mount_console && access("/dev/console", F_OK) == 0 &&
        mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return cm_error_errno(err, "bind '%s' on /dev/console", name);
    if (send_fd(sock, master, name) < 0)
        return cm_error_errno(err, "send the pty master to the console socket");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return cm_error_errno(err, "make '%s' the controlling terminal", name);
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return cm_error_errno(err, "dup2");
    return 0;
}
