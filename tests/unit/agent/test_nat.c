/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the host port mapper's pure parts (agent/nat.c): entry
 * validation, the map element encoding, reconcile decisions and the netlink
 * messages, parsed back with libnftnl. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "agent/nat.h"
#include "cm/cleanup.h"

static struct agent_nat_entry
ent(int proto, uint16_t hp, const char *ip, uint16_t cp)
{
    struct agent_nat_entry e = {.proto = (uint8_t)proto, .host_port = hp, .container_port = cp};
    cr_assert_eq(inet_pton(AF_INET, ip, &e.addr), 1);
    return e;
}

static bool
has(const struct agent_nat_entry *v, size_t n, const struct agent_nat_entry *e)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&v[i], e, sizeof *e) == 0)
            return true;
    return false;
}

Test(agent_nat, names)
{
    cleanup_free char *t = agent_nat_table_name("skiff0");

    cr_assert_str_eq(t, "skiff-skiff0");
    cr_assert_eq(agent_nat_proto_from_name("tcp"), IPPROTO_TCP);
    cr_assert_eq(agent_nat_proto_from_name("UDP"), IPPROTO_UDP);
    cr_assert_eq(agent_nat_proto_from_name("sctp"), -1);
    cr_assert_eq(agent_nat_proto_from_name(""), -1);
    cr_assert_eq(agent_nat_proto_from_name(NULL), -1);
    cr_assert_str_eq(agent_nat_proto_name(IPPROTO_UDP), "udp");
}

Test(agent_nat, entry_check_rejects_bad_entries)
{
    struct agent_nat_entry good = ent(IPPROTO_TCP, 40000, "10.1.0.2", 80), e;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_nat_entry_check(&good, NULL), 0);
    e = good;
    e.proto = IPPROTO_ICMP;
    cr_assert_eq(agent_nat_entry_check(&e, &err), -1);
    cr_assert(strstr(err->msg, "protocol"), "%s", err->msg);
    cm_error_free(&err);
    e = good;
    e.host_port = 0;
    cr_assert_eq(agent_nat_entry_check(&e, NULL), -1);
    e = good;
    e.container_port = 0;
    cr_assert_eq(agent_nat_entry_check(&e, NULL), -1);
    e = good;
    e.addr = 0;
    cr_assert_eq(agent_nat_entry_check(&e, NULL), -1);
    e.addr = 0xffffffffu;
    cr_assert_eq(agent_nat_entry_check(&e, NULL), -1);
}

Test(agent_nat, duplicate_host_ports_rejected_per_protocol)
{
    struct agent_nat_entry v[] = {ent(IPPROTO_TCP, 40000, "10.1.0.2", 80),
                                  ent(IPPROTO_UDP, 40000, "10.1.0.2", 53),
                                  ent(IPPROTO_TCP, 40001, "10.1.0.3", 80)};
    struct cm_error *err = NULL;

    cr_assert_eq(agent_nat_entries_check(v, 3, NULL), 0);
    v[2].host_port = 40000;
    cr_assert_eq(agent_nat_entries_check(v, 3, &err), -1);
    cr_assert_eq(err->code, EADDRINUSE);
    cr_assert(strstr(err->msg, "tcp 40000"), "%s", err->msg);
    cm_error_free(&err);
    cr_assert_eq(agent_nat_entries_check(v, 0, NULL), 0);
}

Test(agent_nat, element_encoding_is_what_the_kernel_compares)
{
    struct agent_nat_entry e = ent(IPPROTO_UDP, 0x1234, "10.1.2.3", 0xabcd), back;
    uint8_t key[AGENT_NAT_KEY_LEN], data[AGENT_NAT_DATA_LEN];
    const uint8_t want_key[] = {17, 0, 0, 0, 0x12, 0x34, 0, 0};
    const uint8_t want_data[] = {10, 1, 2, 3, 0xab, 0xcd, 0, 0};

    agent_nat_key_encode(&e, key);
    agent_nat_data_encode(&e, data);
    cr_assert_arr_eq(key, want_key, sizeof key);
    cr_assert_arr_eq(data, want_data, sizeof data);
    cr_assert_eq(agent_nat_entry_decode(key, sizeof key, data, sizeof data, &back, NULL), 0);
    cr_assert_eq(memcmp(&back, &e, sizeof e), 0);
}

Test(agent_nat, decode_rejects_foreign_elements)
{
    struct agent_nat_entry e = ent(IPPROTO_TCP, 40000, "10.1.0.2", 80), back;
    uint8_t key[AGENT_NAT_KEY_LEN], data[AGENT_NAT_DATA_LEN];
    struct cm_error *err = NULL;

    agent_nat_key_encode(&e, key);
    agent_nat_data_encode(&e, data);
    cr_assert_eq(agent_nat_entry_decode(key, 4, data, sizeof data, &back, &err), -1);
    cr_assert(strstr(err->msg, "bytes"), "%s", err->msg);
    cm_error_free(&err);
    cr_assert_eq(agent_nat_entry_decode(key, sizeof key, NULL, 0, &back, NULL), -1);
    key[2] = 1; /* padding */
    cr_assert_eq(agent_nat_entry_decode(key, sizeof key, data, sizeof data, &back, NULL), -1);
    key[2] = 0;
    key[0] = IPPROTO_ICMP;
    cr_assert_eq(agent_nat_entry_decode(key, sizeof key, data, sizeof data, &back, NULL), -1);
    key[0] = IPPROTO_TCP;
    data[4] = data[5] = 0; /* container port 0 */
    cr_assert_eq(agent_nat_entry_decode(key, sizeof key, data, sizeof data, &back, NULL), -1);
}

Test(agent_nat, parse_and_format)
{
    struct agent_nat_entry e;
    cleanup_free char *s = NULL;
    const char *bad[] = {"",
                         "tcp",
                         "tcp:80:10.0.0.1",
                         "tcp:0:10.0.0.1:80",
                         "tcp:65536:10.0.0.1:80",
                         "tcp:80:10.0.0.1:0",
                         "tcp:80:10.0.0.256:80",
                         "tcp:80:0.0.0.0:80",
                         "tcp:80:10.0.0.1:80:9",
                         "tcp:80:10.0.0.1:80x",
                         "sctp:80:10.0.0.1:80",
                         "tcp:-80:10.0.0.1:80",
                         "tcp:80:fd00::1:80",
                         "tcp:000000000000000000080:10.0.0.1:80"};

    cr_assert_eq(agent_nat_entry_parse("TCP:40000:10.1.0.2:8080", &e, NULL), 0);
    cr_assert_eq(e.proto, IPPROTO_TCP);
    cr_assert_eq(e.host_port, 40000);
    cr_assert_eq(e.container_port, 8080);
    s = agent_nat_entry_format(&e);
    cr_assert_str_eq(s, "tcp:40000:10.1.0.2:8080");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(agent_nat_entry_parse(bad[i], &e, NULL), -1, "%s", bad[i]);
    cr_assert_eq(agent_nat_entry_parse(NULL, &e, NULL), -1);
}

Test(agent_nat, plan_removes_gone_replaces_changed_adds_missing)
{
    struct agent_nat_entry cur[] = {ent(IPPROTO_TCP, 40000, "10.1.0.2", 80),  /* gone */
                                    ent(IPPROTO_TCP, 40001, "10.1.0.3", 80),  /* changed */
                                    ent(IPPROTO_UDP, 40001, "10.1.0.3", 53)}; /* kept */
    struct agent_nat_entry want[] = {ent(IPPROTO_UDP, 40001, "10.1.0.3", 53),
                                     ent(IPPROTO_TCP, 40001, "10.1.0.9", 80),
                                     ent(IPPROTO_TCP, 40002, "10.1.0.4", 8080)}; /* new */
    struct agent_nat_entry del[3], add[3];
    size_t nd, na;

    agent_nat_plan(cur, 3, want, 3, del, &nd, add, &na);
    cr_assert_eq(nd, 2);
    cr_assert(has(del, nd, &cur[0]));
    cr_assert(has(del, nd, &cur[1]));
    cr_assert_eq(na, 2);
    cr_assert(has(add, na, &want[1]));
    cr_assert(has(add, na, &want[2]));
}

Test(agent_nat, plan_edge_cases)
{
    struct agent_nat_entry a[] = {ent(IPPROTO_TCP, 40000, "10.1.0.2", 80),
                                  ent(IPPROTO_TCP, 40001, "10.1.0.3", 80)};
    struct agent_nat_entry dup[] = {ent(IPPROTO_TCP, 40000, "10.1.0.2", 80),
                                    ent(IPPROTO_TCP, 40000, "10.1.0.7", 81)};
    struct agent_nat_entry del[2], add[2];
    size_t nd, na;

    /* Nothing to do when they agree, whatever the order. */
    struct agent_nat_entry rev[] = {a[1], a[0]};
    agent_nat_plan(a, 2, rev, 2, del, &nd, add, &na);
    cr_assert_eq(nd + na, 0);
    /* Nothing wanted (every task gone while the agent was down). */
    agent_nat_plan(a, 2, NULL, 0, del, &nd, add, &na);
    cr_assert_eq(nd, 2);
    cr_assert_eq(na, 0);
    /* An empty map after a reboot: everything is added. */
    agent_nat_plan(NULL, 0, a, 2, del, &nd, add, &na);
    cr_assert_eq(nd, 0);
    cr_assert_eq(na, 2);
    /* Duplicate keys wanted: the first one wins. */
    agent_nat_plan(NULL, 0, dup, 2, del, &nd, add, &na);
    cr_assert_eq(na, 1);
    cr_assert_eq(memcmp(&add[0], &dup[0], sizeof *add), 0);
}

/* Walks a batch: message types in order, and the elements of set element
 * messages decoded from their attributes (libnftnl's own parser wants every
 * element nest typed NFTA_LIST_ELEM, which its builder does not do for
 * requests: the kernel ignores the type). */
struct walk {
    uint16_t types[64];
    size_t n;
    struct agent_nat_entry elems[1024];
    size_t n_elems;
    bool data_seen;
};

/* NFTA_SET_ELEM_KEY / _DATA: a nest holding NFTA_DATA_VALUE. */
static const void *
data_value(const struct nlattr *nest, uint16_t *ret_len)
{
    const struct nlattr *a;

    mnl_attr_for_each_nested(a, nest)
    {
        if (mnl_attr_get_type(a) == NFTA_DATA_VALUE) {
            *ret_len = mnl_attr_get_payload_len(a);
            return mnl_attr_get_payload(a);
        }
    }
    return NULL;
}

static void
walk_elems(const struct nlmsghdr *nlh, struct walk *w)
{
    const struct nlattr *a, *el, *f;
    bool table = false, set = false;

    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
    {
        switch (mnl_attr_get_type(a)) {
        case NFTA_SET_ELEM_LIST_TABLE:
            cr_assert_str_eq(mnl_attr_get_str(a), "skiff-br0");
            table = true;
            break;
        case NFTA_SET_ELEM_LIST_SET:
            cr_assert_str_eq(mnl_attr_get_str(a), AGENT_NAT_MAP);
            set = true;
            break;
        case NFTA_SET_ELEM_LIST_ELEMENTS:
            mnl_attr_for_each_nested(el, a)
            {
                const void *k = NULL, *d = NULL;
                uint16_t kl = 0, dl = 0;
                struct agent_nat_entry e = {0};
                mnl_attr_for_each_nested(f, el)
                {
                    if (mnl_attr_get_type(f) == NFTA_SET_ELEM_KEY)
                        k = data_value(f, &kl);
                    else if (mnl_attr_get_type(f) == NFTA_SET_ELEM_DATA)
                        d = data_value(f, &dl);
                }
                cr_assert_not_null(k);
                cr_assert_eq(kl, AGENT_NAT_KEY_LEN);
                if (d) {
                    w->data_seen = true;
                    cr_assert_eq(agent_nat_entry_decode(k, kl, d, dl, &e, NULL), 0);
                } else {
                    memcpy(&e.proto, k, 1);
                }
                cr_assert_lt(w->n_elems, 1024);
                w->elems[w->n_elems++] = e;
            }
            break;
        default:
            break;
        }
    }
    cr_assert(table && set);
}

static void
walk(const struct agent_nat_batch *b, struct walk *w)
{
    int left = (int)b->len;

    memset(w, 0, sizeof *w);
    for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->buf; mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
        uint16_t type = nlh->nlmsg_type;
        cr_assert_lt(w->n, 64);
        w->types[w->n++] = type;
        if (type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM) ||
            type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELSETELEM))
            walk_elems(nlh, w);
    }
    cr_assert_eq(left, 0, "the batch ends on a message boundary");
}

#define NFT(t) (NFNL_SUBSYS_NFTABLES << 8 | (t))

Test(agent_nat, element_batch_chunks_messages_and_round_trips)
{
    struct agent_nat_entry v[300];
    struct agent_nat_batch b;
    struct walk *w = calloc(1, sizeof *w);

    for (size_t i = 0; i < 300; i++)
        v[i] = ent(i % 2 ? IPPROTO_UDP : IPPROTO_TCP, (uint16_t)(40000 + i), "10.1.0.2",
                   (uint16_t)(1 + i));
    agent_nat_batch_init(&b, 100);
    agent_nat_batch_begin(&b);
    agent_nat_batch_elems(&b, "skiff-br0", true, v, 300);
    agent_nat_batch_end(&b);
    cr_assert_eq(b.n_acked, 2, "300 elements: 256 + 44");
    cr_assert_eq(b.seq, 104);
    walk(&b, w);
    cr_assert_eq(w->n, 4);
    cr_assert_eq(w->types[0], NFNL_MSG_BATCH_BEGIN);
    cr_assert_eq(w->types[1], NFT(NFT_MSG_NEWSETELEM));
    cr_assert_eq(w->types[2], NFT(NFT_MSG_NEWSETELEM));
    cr_assert_eq(w->types[3], NFNL_MSG_BATCH_END);
    cr_assert_eq(w->n_elems, 300);
    for (size_t i = 0; i < 300; i++)
        cr_assert(has(w->elems, w->n_elems, &v[i]), "element %zu", i);
    cr_assert(strstr(b.what[1], "add 256 map elements"), "%s", b.what[1]);
    agent_nat_batch_done(&b);

    /* Removal names keys only. */
    agent_nat_batch_init(&b, 1);
    agent_nat_batch_begin(&b);
    agent_nat_batch_elems(&b, "skiff-br0", false, v, 1);
    agent_nat_batch_end(&b);
    walk(&b, w);
    cr_assert_eq(w->types[1], NFT(NFT_MSG_DELSETELEM));
    cr_assert_eq(w->n_elems, 1);
    cr_assert_not(w->data_seen);
    cr_assert_str_eq(b.what[1], "remove map element tcp 40000");
    agent_nat_batch_done(&b);
    free(w);
}

Test(agent_nat, setup_batch_creates_then_refills_each_chain)
{
    struct agent_nat_batch b;
    struct walk *w = calloc(1, sizeof *w);
    struct cm_error *err = NULL;
    const uint16_t want[] = {NFNL_MSG_BATCH_BEGIN,  NFT(NFT_MSG_NEWTABLE), NFT(NFT_MSG_NEWSET),
                             NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_DELRULE),  NFT(NFT_MSG_NEWCHAIN),
                             NFT(NFT_MSG_DELRULE),  NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_DELRULE),
                             NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_DELRULE),  NFT(NFT_MSG_NEWRULE),
                             NFT(NFT_MSG_NEWRULE),  NFT(NFT_MSG_NEWRULE),  NFT(NFT_MSG_NEWRULE),
                             NFT(NFT_MSG_NEWRULE),  NFNL_MSG_BATCH_END};

    agent_nat_batch_init(&b, 7);
    agent_nat_batch_begin(&b);
    cr_assert_eq(agent_nat_batch_setup(&b, "skiff-br0", "br0", "10.1.0.0/24", NULL), 0);
    agent_nat_batch_end(&b);
    walk(&b, w);
    cr_assert_eq(w->n, sizeof want / sizeof *want);
    for (size_t i = 0; i < w->n; i++)
        cr_assert_eq(w->types[i], want[i], "message %zu", i);
    cr_assert_eq(b.n_acked, w->n - 2);
    agent_nat_batch_done(&b);

    agent_nat_batch_init(&b, 7);
    cr_assert_eq(agent_nat_batch_setup(&b, "t", "br0", "10.1.0.0/33", &err), -1);
    cr_assert(strstr(err->msg, "subnet"), "%s", err->msg);
    cm_error_free(&err);
    cr_assert_eq(agent_nat_batch_setup(&b, "t", "a-bridge-name-too-long", "10.1.0.0/24", NULL), -1);
    cr_assert_eq(agent_nat_batch_setup(&b, "t", "br0", "10.1.0/24", NULL), -1);
    agent_nat_batch_done(&b);
    free(w);
}
