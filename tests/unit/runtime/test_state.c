/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the state directory: id validation, /proc stat parsing, the
 * stored record and the spec's state JSON, directory operations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "rt/state.h"

static char tmpdir[] = "/tmp/rt-core-state-XXXXXX";

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
    cm_rm_rf(tmpdir, NULL);
    strcpy(tmpdir, "/tmp/rt-core-state-XXXXXX");
}

TestSuite(rt_state, .init = setup, .fini = teardown);

Test(rt_state, id_accepts_runc_charset)
{
    cr_assert_eq(rt_id_validate("abc-DEF_0.9+x", NULL), 0);
    cr_assert_eq(rt_id_validate("a", NULL), 0);
}

Test(rt_state, id_rejects_bad)
{
    struct cm_error *e = NULL;
    char longid[300];

    cr_assert_eq(rt_id_validate("", NULL), -1);
    cr_assert_eq(rt_id_validate(".", NULL), -1);
    cr_assert_eq(rt_id_validate("..", NULL), -1);
    cr_assert_eq(rt_id_validate("a/b", NULL), -1);
    cr_assert_eq(rt_id_validate("../etc", NULL), -1);
    cr_assert_eq(rt_id_validate("a b", NULL), -1);
    cr_assert_eq(rt_id_validate("a\nb", NULL), -1);
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = 0;
    cr_assert_eq(rt_id_validate(longid, &e), -1);
    cr_assert_not_null(strstr(e->msg, "longer"));
    cm_error_free(&e);
    longid[RT_ID_MAX] = 0;
    cr_assert_eq(rt_id_validate(longid, NULL), 0);
}

Test(rt_state, dir_validates_before_building_path)
{
    cr_assert_null(rt_state_dir("/run/x", "../../etc", NULL));
    cleanup_free char *d = rt_state_dir("/run/x", "ok", NULL);
    cr_assert_str_eq(d, "/run/x/ok");
}

Test(rt_state, proc_stat_parse)
{
    uint64_t st = 0;
    char state = 0;
    const char *line = "1234 (a b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
                       "987654 1000 100 18446744073709551615";
    cr_assert_eq(rt_proc_stat_parse(line, &st, &state, NULL), 0);
    cr_assert_eq(st, 987654);
    cr_assert_eq(state, 'S');
    cr_assert_eq(rt_proc_stat_parse("garbage", &st, NULL, NULL), -1);
    cr_assert_eq(rt_proc_stat_parse("1 (x) S 1 2", &st, NULL, NULL), -1);
}

Test(rt_state, proc_stat_self)
{
    uint64_t st = 0;
    bool alive = false;
    cr_assert_eq(rt_proc_stat(getpid(), &st, &alive, NULL), 0);
    cr_assert(alive);
    cr_assert_gt(st, 0);
}

Test(rt_state, record_roundtrip)
{
    struct rt_kv ann[] = {{"k1", "v1"}, {"k2", "v2"}};
    struct rt_state s = {.id = "c1",
                         .bundle = "/b",
                         .rootfs = "/b/rootfs",
                         .created = "2024-01-01T00:00:00.000000000Z",
                         .owner = "",
                         .cgroup_path = "/skiff/c1",
                         .pid = 42,
                         .start_time = 777,
                         .created_done = true,
                         .annotations = ann,
                         .n_annotations = 2};
    struct rt_state back = {0};
    cleanup_free char *json = rt_state_to_json(&s);

    cr_assert_eq(rt_state_from_json(json, strlen(json), &back, NULL), 0);
    cr_assert_str_eq(back.id, "c1");
    cr_assert_str_eq(back.bundle, "/b");
    cr_assert_str_eq(back.cgroup_path, "/skiff/c1");
    cr_assert_eq(back.pid, 42);
    cr_assert_eq(back.start_time, 777);
    cr_assert(back.created_done);
    cr_assert_eq(back.n_annotations, 2);
    cr_assert_str_eq(back.annotations[1].value, "v2");
    rt_state_done(&back);
}

Test(rt_state, record_rejects_garbage)
{
    struct rt_state back = {0};
    cr_assert_eq(rt_state_from_json("{", 1, &back, NULL), -1);
    cr_assert_eq(rt_state_from_json("[]", 2, &back, NULL), -1);
    cr_assert_eq(rt_state_from_json("{\"id\":\"x\",\"pid\":-4}", 19, &back, NULL), -1);
    cr_assert_eq(rt_state_from_json("{\"pid\":4}", 9, &back, NULL), -1);
}

Test(rt_state, spec_json_fields)
{
    struct rt_state s = {.id = "c1", .bundle = "/b", .pid = 42, .created = "t", .owner = ""};
    cleanup_free char *json = rt_state_spec_json(&s, RT_STATUS_RUNNING, true);
    json_auto_t *o = json_loads(json, 0, NULL);

    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "ociVersion")), RT_OCI_VERSION);
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), "c1");
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "running");
    cr_assert_eq(json_integer_value(json_object_get(o, "pid")), 42);
    cr_assert_str_eq(json_string_value(json_object_get(o, "bundle")), "/b");
    cr_assert_null(json_object_get(o, "annotations"));
}

Test(rt_state, spec_json_stopped_has_no_pid)
{
    struct rt_state s = {.id = "c1", .bundle = "/b", .pid = 42};
    cleanup_free char *json = rt_state_spec_json(&s, RT_STATUS_STOPPED, false);
    json_auto_t *o = json_loads(json, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(o, "pid")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "stopped");
}

Test(rt_state, status_names)
{
    cr_assert_str_eq(rt_status_name(RT_STATUS_CREATING), "creating");
    cr_assert_str_eq(rt_status_name(RT_STATUS_CREATED), "created");
    cr_assert_str_eq(rt_status_name(RT_STATUS_PAUSED), "paused");
    cr_assert_str_eq(rt_status_name(RT_STATUS_STOPPED), "stopped");
}

Test(rt_state, dir_create_save_load_list_remove)
{
    struct rt_state s = {.id = "b-1", .bundle = "/x", .pid = 0};
    struct rt_state back = {0};
    struct cm_error *e = NULL;
    cleanup_strv char **ids = NULL;

    cr_assert_eq(rt_state_dir_create(tmpdir, "b-1", NULL), 0);
    cr_assert_eq(rt_state_dir_create(tmpdir, "b-1", &e), -1);
    cr_assert_eq(e->code, EEXIST);
    cm_error_free(&e);
    cr_assert_eq(rt_state_dir_create(tmpdir, "a-0", NULL), 0);
    cr_assert_eq(rt_state_save(tmpdir, &s, NULL), 0);
    cr_assert_eq(rt_state_load(tmpdir, "b-1", &back, NULL), 0);
    cr_assert_str_eq(back.bundle, "/x");
    cr_assert_eq(rt_state_status(tmpdir, &back), RT_STATUS_STOPPED);
    rt_state_done(&back);
    /* a-0 has no state.json (crash during create): loads as a bare record. */
    cr_assert_eq(rt_state_load(tmpdir, "a-0", &back, NULL), 0);
    cr_assert_str_eq(back.id, "a-0");
    cr_assert_eq(back.pid, 0);
    rt_state_done(&back);
    cr_assert_eq(rt_state_list(tmpdir, &ids, NULL), 0);
    cr_assert_eq(cm_strv_len(ids), 2);
    cr_assert_str_eq(ids[0], "a-0");
    cr_assert_str_eq(ids[1], "b-1");
    cr_assert_eq(rt_state_remove(tmpdir, "b-1", NULL), 0);
    cr_assert_eq(rt_state_load(tmpdir, "b-1", &back, &e), -1);
    cr_assert_eq(e->code, ENOENT);
    cm_error_free(&e);
}

Test(rt_state, status_detects_pid_reuse)
{
    struct rt_state s = {.id = "c", .pid = getpid(), .created_done = true};
    uint64_t st = 0;

    cr_assert_eq(rt_proc_stat(getpid(), &st, NULL, NULL), 0);
    s.start_time = st + 1;
    cr_assert_eq(rt_state_status(tmpdir, &s), RT_STATUS_STOPPED);
    s.start_time = st;
    cr_assert_eq(rt_state_status(tmpdir, &s), RT_STATUS_RUNNING);
    s.created_done = false;
    cr_assert_eq(rt_state_status(tmpdir, &s), RT_STATUS_CREATING);
}

Test(rt_state, timestamp_matches_gmtime)
{
    char *t = rt_timestamp_now();
    char want[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(want, sizeof(want), "%Y-%m-%dT%H:", &tm);
    cr_assert_eq(strlen(t), 30, "%s", t);
    cr_assert_eq(strncmp(t, want, strlen(want)), 0, "%s vs %s", t, want);
    cr_assert_eq(t[29], 'Z');
    free(t);
}
