/* SPDX-License-Identifier: Apache-2.0 */
/* Known runtime escapes stay closed: CVE-2019-5736 (the runtime binary
 * reached through /proc/self/exe), CVE-2024-21626 (host fds or cwd leaking
 * into the container), CVE-2021-30465 (mount targets resolved through
 * symlinks out of the rootfs). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm/file.h"
#include "harness.h"

TestSuite(rt_escapes, .init = h_setup, .fini = h_teardown, .timeout = 60);

static void
binary_digest(char *out, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned long h = 5381;
    cr_assert_eq(cm_read_file_at(AT_FDCWD, h_runtime(), 64 << 20, &buf, &len, NULL), 0);
    for (size_t i = 0; i < len; i++)
        h = h * 33 + (unsigned char)buf[i];
    snprintf(out, n, "%zu-%lx", len, h);
    free(buf);
}

Test(rt_escapes, cve_2019_5736_proc_self_exe_refused)
{
    char before[64], after[64];

    binary_digest(before, sizeof(before));
    json_object_set_new(json_object_get(H.config, "process"), "args",
                        json_pack("[s]", "/proc/self/exe"));
    h_write_config();
    cr_assert_neq(h_rt("run", "--bundle", H.bundle, h_id("exe"), NULL), 0);
    cr_assert_not_null(strstr(h_err, "refusing"), "%s", h_err);
    binary_digest(after, sizeof(after));
    cr_assert_str_eq(before, after);
}

Test(rt_escapes, cve_2019_5736_shebang_refused)
{
    char path[256];
    const char *script = "#!/proc/self/exe\n";
    snprintf(path, sizeof(path), "%s/evil", H.rootfs);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, script, strlen(script)), (ssize_t)strlen(script));
    close(fd);
    json_object_set_new(json_object_get(H.config, "process"), "args", json_pack("[s]", "/evil"));
    h_write_config();
    cr_assert_neq(h_rt("run", "--bundle", H.bundle, h_id("shebang"), NULL), 0);
    cr_assert_not_null(strstr(h_err, "refusing"), "%s", h_err);
}

Test(rt_escapes, cve_2019_5736_init_not_dumpable_during_setup)
{
    const char *id = h_id("dump");
    char path[512];
    char *buf = NULL;
    size_t len = 0;
    int pid;

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("create", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    /* Before start the init still runs the runtime binary: it must not be
     * dumpable, so the container cannot open /proc/<pid>/exe without
     * CAP_SYS_PTRACE. */
    snprintf(path, sizeof(path), "%s/%s/state.json", H.root, id);
    cr_assert_eq(h_rt("state", id, NULL), 0);
    json_t *o = json_loads(h_out, 0, NULL);
    pid = (int)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 1 << 16, &buf, &len, NULL), 0);
    /* Non-dumpable processes' /proc files are owned by root:root; the
     * reliable signal is prctl state, visible through the uid of /proc/pid. */
    free(buf);
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", pid);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_uid, 0);
}

Test(rt_escapes, cve_2024_21626_no_fd_or_cwd_leak)
{
    /* The runtime gets an open directory fd of the host and a host cwd. */
    int fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    json_object_set_new(json_object_get(H.config, "process"), "cwd", json_string("/"));
    h_write_config();
    cr_assert_eq(h_rt_fd(fd, "/sys/fs/cgroup", "run", "--bundle", H.bundle, h_id("fds"), NULL), 0,
                 "%s", h_err);
    close(fd);
    cr_assert_null(strstr(h_out, "fd="), "host fd leaked: %s", h_out);
    cr_assert_not_null(strstr(h_out, "cwd=/\n"), "%s", h_out);
}

Test(rt_escapes, cve_2024_21626_preserve_fds_only)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    h_write_config();
    /* The harness passes fd as fd 3 of the runtime. */
    cr_assert_eq(
        h_rt_fd(fd, NULL, "run", "--preserve-fds", "1", "--bundle", H.bundle, h_id("pfds"), NULL),
        0, "%s", h_err);
    close(fd);
    cr_assert_not_null(strstr(h_out, "fd=3:/dev/null"), "%s", h_out);
    cr_assert_null(strstr(h_out, "fd=4"), "%s", h_out);
}

Test(rt_escapes, cve_2021_30465_symlink_mount_target_stays_in_rootfs)
{
    char link[256], hostdir[128], inside[256];
    struct stat st;

    /* /evil -> ../../../../../tmp/<unique>: followed naively it points at the host. */
    snprintf(hostdir, sizeof(hostdir), "/tmp/rt-core-escape-%d", (int)getpid());
    rmdir(hostdir);
    snprintf(link, sizeof(link), "%s/tmp", H.rootfs);
    cr_assert_eq(mkdir(link, 01777), 0);
    snprintf(link, sizeof(link), "%s/evil", H.rootfs);
    cr_assert_eq(symlink("../../../../../../../../tmp", link), 0);
    snprintf(inside, sizeof(inside), "/evil/rt-core-escape-%d", (int)getpid());
    h_add_mount(inside, "tmpfs", "tmpfs", "size=64k", NULL);
    h_args("cat", "/proc/self/mountinfo", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("symlink"), NULL), 0, "%s", h_err);
    cr_assert_neq(stat(hostdir, &st), 0, "mount target created on the host");
    /* Inside the container the tmpfs sits at /tmp/rt-core-escape-PID. */
    snprintf(inside, sizeof(inside), " /tmp/rt-core-escape-%d ", (int)getpid());
    cr_assert_not_null(strstr(h_out, inside), "%s", h_out);
}

Test(rt_escapes, listen_fds_passed_and_announced)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    h_write_config();
    setenv("LISTEN_FDS", "1", 1);
    int r = h_rt_fd(fd, NULL, "run", "--bundle", H.bundle, h_id("listen"), NULL);
    unsetenv("LISTEN_FDS");
    close(fd);
    cr_assert_eq(r, 0, "%s", h_err);
    cr_assert_not_null(strstr(h_out, "fd=3:/dev/null"), "%s", h_out);
    cr_assert_not_null(strstr(h_out, "listen_fds=1 listen_pid=1"), "%s", h_out);
    cr_assert_null(strstr(h_out, "fd=4"), "%s", h_out);
}
