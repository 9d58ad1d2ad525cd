/* SPDX-License-Identifier: Apache-2.0 */
/* process.terminal: the pty master arrives over the console socket and the
 * container's stdio is a terminal. */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

TestSuite(rt_console, .init = h_setup, .fini = h_teardown, .timeout = 60);

static int
recv_fd(int sock)
{
    char buf[256], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c;
    int fd = -1;
    if (recvmsg(sock, &msg, 0) < 0)
        return -1;
    c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

Test(rt_console, master_sent_over_socket)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *id = h_id("tty");
    int ls, conn, master;
    char out[4096] = "";
    size_t n = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock", H.dir);
    ls = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(ls, 1), 0);
    json_object_set_new(json_object_get(H.config, "process"), "terminal", json_true());
    h_write_config();
    cr_assert_eq(h_rt("create", "--bundle", H.bundle, "--console-socket", sa.sun_path, id, NULL), 0,
                 "%s", h_err);
    conn = accept(ls, NULL, NULL);
    cr_assert_geq(conn, 0);
    master = recv_fd(conn);
    cr_assert_geq(master, 0);
    cr_assert_eq(h_rt("start", id, NULL), 0, "%s", h_err);
    for (;;) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, 5000) <= 0)
            break;
        r = read(master, out + n, sizeof(out) - n - 1);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = 0;
    }
    cr_assert_not_null(strstr(out, "tty=1"), "%s", out);
    close(master);
    close(conn);
    close(ls);
}

Test(rt_console, run_without_socket_proxies_a_pty)
{
    json_object_set_new(json_object_get(H.config, "process"), "terminal", json_true());
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("runtty"), NULL), 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, "tty=1"), "%s", h_out);
}

Test(rt_console, detached_terminal_needs_socket)
{
    json_object_set_new(json_object_get(H.config, "process"), "terminal", json_true());
    h_write_config();
    cr_assert_neq(h_rt("run", "-d", "--bundle", H.bundle, h_id("dtty"), NULL), 0);
    cr_assert_not_null(strstr(h_err, "console-socket"), "%s", h_err);
}
