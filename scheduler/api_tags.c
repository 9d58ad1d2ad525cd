/* SPDX-License-Identifier: Apache-2.0 */
/* Tag/Untag/ListTagsForResource over every taggable ECS resource, and
 * skiff's own SkiffCreateJoinToken (agent join tokens bound to a cluster). */
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define IPE "InvalidParameterException"

/* Finds the document an ARN names and the member its tags live in. */
static json_t *
resource_of(struct sched_call *c, const char *arn, enum sched_kind *ret_kind, char **ret_key,
            const char **ret_member)
{
    const char *p = NULL;
    if (strncmp(arn, "arn:aws:ecs:", 12) != 0) {
        sched_fail(c, IPE, "'%s' is not a valid ECS resource ARN.", arn);
        return NULL;
    }
    /* arn:aws:ecs:REGION:ACCOUNT:TYPE/REST */
    p = arn + 12;
    for (int i = 0; i < 2 && p; i++) {
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (!p) {
        sched_fail(c, IPE, "'%s' is not a valid ECS resource ARN.", arn);
        return NULL;
    }
    json_t *doc = NULL;
    *ret_member = "tags";
    if (!strncmp(p, "cluster/", 8)) {
        *ret_kind = SCHED_K_CLUSTER;
        *ret_key = xstrdup(p + 8);
        doc = sched_get(c->d, SCHED_K_CLUSTER, *ret_key);
        if (!doc) {
            sched_fail(c, "ClusterNotFoundException", "Cluster not found.");
            return NULL;
        }
        return doc;
    }
    if (!strncmp(p, "task-definition/", 16)) {
        *ret_kind = SCHED_K_TASKDEF;
        *ret_key = xstrdup(p + 16);
        *ret_member = "_tags";
    } else if (!strncmp(p, "service/", 8)) {
        *ret_kind = SCHED_K_SERVICE;
        *ret_key = xstrdup(p + 8);
    } else if (!strncmp(p, "task/", 5)) {
        /* Tasks are records, not documents: their tags live in the record's extras. */
        *ret_kind = SCHED_K_TASK;
        *ret_key = xstrdup(sched_arn_tail(arn));
        uint32_t h = sched_task_find(c->d, *ret_key);
        if (h == SCHED_NO_TASK) {
            free(*ret_key);
            *ret_key = NULL;
            sched_fail(c, IPE, "The specified resource '%s' was not found.", arn);
            return NULL;
        }
        return sched_task_extra(sched_task_at(c->d, h));
    } else if (!strncmp(p, "container-instance/", 19)) {
        *ret_kind = SCHED_K_INSTANCE;
        *ret_key = xstrdup(sched_arn_tail(arn));
    } else {
        sched_fail(c, IPE, "Resource type of '%s' cannot be tagged.", arn);
        return NULL;
    }
    doc = sched_get(c->d, *ret_kind, *ret_key);
    if (!doc) {
        free(*ret_key);
        *ret_key = NULL;
        sched_fail(c, IPE, "The specified resource '%s' was not found.", arn);
    }
    return doc;
}

static void
touch(struct sched_call *c, enum sched_kind kind, const char *key)
{
    if (kind == SCHED_K_TASK)
        sched_task_changed(c->d, sched_task_find(c->d, key));
    else
        sched_touch(c->d, kind, key);
}

int
sched_op_tag_resource(struct sched_call *c, json_t *in, json_t *out)
{
    const char *arn = NULL, *member = NULL;
    enum sched_kind kind;
    cleanup_free char *key = NULL;
    (void)out;
    if (sched_in_str(c, in, "resourceArn", true, &arn) < 0)
        return -1;
    json_t *doc = resource_of(c, arn, &kind, &key, &member);
    if (!doc)
        return -1;
    if (!json_is_array(json_object_get(in, "tags")))
        return sched_fail(c, IPE, "tags can not be null.");
    json_auto_t *add = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!add)
        return -1;
    json_t *tags = json_object_get(doc, member);
    if (!json_is_array(tags)) {
        tags = json_array();
        json_object_set_new(doc, member, tags);
    }
    size_t i, j;
    json_t *t, *e;
    json_array_foreach (add, i, t) {
        bool replaced = false;
        json_array_foreach (tags, j, e) {
            if (json_equal(json_object_get(e, "key"), json_object_get(t, "key"))) {
                json_object_set(e, "value", json_object_get(t, "value"));
                replaced = true;
            }
        }
        if (!replaced)
            json_array_append(tags, t);
    }
    if (json_array_size(tags) > 50)
        return sched_fail(c, IPE, "A resource can have at most 50 tags.");
    touch(c, kind, key);
    return 0;
}

int
sched_op_untag_resource(struct sched_call *c, json_t *in, json_t *out)
{
    const char *arn = NULL, *member = NULL;
    enum sched_kind kind;
    cleanup_free char *key = NULL;
    json_t *keys = NULL;
    (void)out;
    if (sched_in_str(c, in, "resourceArn", true, &arn) < 0 ||
        sched_in_array(c, in, "tagKeys", true, 50, &keys) < 0)
        return -1;
    json_t *doc = resource_of(c, arn, &kind, &key, &member);
    if (!doc)
        return -1;
    json_t *tags = json_object_get(doc, member);
    for (size_t j = json_array_size(tags); j-- > 0;) {
        json_t *e = json_array_get(tags, j);
        size_t i;
        json_t *k;
        json_array_foreach (keys, i, k)
            if (json_equal(k, json_object_get(e, "key"))) {
                json_array_remove(tags, j);
                break;
            }
    }
    touch(c, kind, key);
    return 0;
}

int
sched_op_list_tags_for_resource(struct sched_call *c, json_t *in, json_t *out)
{
    const char *arn = NULL, *member = NULL;
    enum sched_kind kind;
    cleanup_free char *key = NULL;
    if (sched_in_str(c, in, "resourceArn", true, &arn) < 0)
        return -1;
    json_t *doc = resource_of(c, arn, &kind, &key, &member);
    if (!doc)
        return -1;
    json_t *tags = json_object_get(doc, member);
    json_object_set_new(out, "tags", tags ? json_deep_copy(tags) : json_array());
    return 0;
}

int
sched_op_create_join_token(struct sched_call *c, json_t *in, json_t *out)
{
    const char *cluster = NULL;
    if (!sched_cluster_get(c, in, &cluster))
        return -1;
    cleanup_free char *tok = sched_join_token_new(c->d, cluster);
    json_object_set_new(out, "joinToken", json_string(tok));
    json_object_set_new(out, "cluster", json_string(cluster));
    return 0;
}
