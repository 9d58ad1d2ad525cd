/* SPDX-License-Identifier: Apache-2.0 */
/* Host port mappings through an nftables table of our own, over netlink
 * in-process (libmnl + libnftnl): see include/agent/nat.h for the table. */
#include "agent/nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

/* nftables' datatype ids (nft displays the map with them): inet_proto 12,
 * inet_service 13, ipv4_addr 7; a concatenation packs them 6 bits each. */
#define TYPE_BITS 6
#define KEY_TYPE ((12u << TYPE_BITS) | 13u)
#define DATA_TYPE ((7u << TYPE_BITS) | 13u)
#define MAP_ID 1
/* Room for the largest message we build (an element message is ~20 KiB). */
#define MSG_ROOM (64u * 1024)
/* Netlink answers: acks, and dump parts (the kernel fills what fits). */
#define RECV_BUF 32768

char *
agent_nat_table_name(const char *bridge)
{
    return xasprintf("skiff-%s", bridge);
}

int
agent_nat_proto_from_name(const char *name)
{
    if (name && strcasecmp(name, "tcp") == 0)
        return IPPROTO_TCP;
    if (name && strcasecmp(name, "udp") == 0)
        return IPPROTO_UDP;
    return -1;
}

const char *
agent_nat_proto_name(uint8_t proto)
{
    return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

int
agent_nat_entry_check(const struct agent_nat_entry *e, struct cm_error **err)
{
    char a[INET_ADDRSTRLEN];

    if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP)
        return cm_error_set(err, 0, "port mapping: protocol %u is neither tcp nor udp", e->proto);
    if (e->host_port == 0 || e->container_port == 0)
        return cm_error_set(err, 0, "port mapping %s %u -> %u: ports must be 1-65535",
                            agent_nat_proto_name(e->proto), e->host_port, e->container_port);
    if (e->addr == 0 || e->addr == 0xffffffffu) {
        inet_ntop(AF_INET, &e->addr, a, sizeof a);
        return cm_error_set(err, 0, "port mapping %s %u: container address %s",
                            agent_nat_proto_name(e->proto), e->host_port, a);
    }
    return 0;
}

static int
cmp_key(const struct agent_nat_entry *a, const struct agent_nat_entry *b)
{
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    if (a->host_port != b->host_port)
        return a->host_port < b->host_port ? -1 : 1;
    return 0;
}

static int
cmp_key_v(const void *a, const void *b)
{
    return cmp_key(a, b);
}

static bool
same_data(const struct agent_nat_entry *a, const struct agent_nat_entry *b)
{
    return a->addr == b->addr && a->container_port == b->container_port;
}

int
agent_nat_entries_check(const struct agent_nat_entry *e, size_t n, struct cm_error **err)
{
    cleanup_free struct agent_nat_entry *s = NULL;

    for (size_t i = 0; i < n; i++)
        if (agent_nat_entry_check(&e[i], err) < 0)
            return -1;
    if (n < 2)
        return 0;
    s = xmalloc(n * sizeof *s);
    memcpy(s, e, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_key_v);
    for (size_t i = 1; i < n; i++)
        if (cmp_key(&s[i - 1], &s[i]) == 0)
            return cm_error_set(err, EADDRINUSE, "host port %s %u is mapped twice",
                                agent_nat_proto_name(s[i].proto), s[i].host_port);
    return 0;
}

void
agent_nat_key_encode(const struct agent_nat_entry *e, uint8_t key[AGENT_NAT_KEY_LEN])
{
    uint16_t p = htons(e->host_port);

    /* Each part of a concatenation takes a whole 32-bit register. */
    memset(key, 0, AGENT_NAT_KEY_LEN);
    key[0] = e->proto;
    memcpy(key + 4, &p, 2);
}

void
agent_nat_data_encode(const struct agent_nat_entry *e, uint8_t data[AGENT_NAT_DATA_LEN])
{
    uint16_t p = htons(e->container_port);

    memset(data, 0, AGENT_NAT_DATA_LEN);
    memcpy(data, &e->addr, 4);
    memcpy(data + 4, &p, 2);
}

int
agent_nat_entry_decode(const void *key, size_t key_len, const void *data, size_t data_len,
                       struct agent_nat_entry *ret, struct cm_error **err)
{
    static const uint8_t zero[4];
    const uint8_t *k = key, *d = data;
    uint16_t hp, cp;
    struct agent_nat_entry e = {0};

    if (!key || !data || key_len != AGENT_NAT_KEY_LEN || data_len != AGENT_NAT_DATA_LEN)
        return cm_error_set(err, 0, "map element: key %zu and data %zu bytes, expected %d and %d",
                            key_len, data_len, AGENT_NAT_KEY_LEN, AGENT_NAT_DATA_LEN);
    if (memcmp(k + 1, zero, 3) != 0 || memcmp(k + 6, zero, 2) != 0 || memcmp(d + 6, zero, 2) != 0)
        return cm_error_set(err, 0, "map element: padding is not zero");
    memcpy(&hp, k + 4, 2);
    memcpy(&cp, d + 4, 2);
    memcpy(&e.addr, d, 4);
    e.proto = k[0];
    e.host_port = ntohs(hp);
    e.container_port = ntohs(cp);
    if (agent_nat_entry_check(&e, err) < 0)
        return -1;
    *ret = e;
    return 0;
}

int
agent_nat_entry_parse(const char *spec, struct agent_nat_entry *ret, struct cm_error **err)
{
    char proto[8], ip[INET_ADDRSTRLEN], hp[8], cp[8], extra;
    struct in_addr a;
    struct agent_nat_entry e = {0};
    char *end;
    long h, c;
    int p;

    if (!spec || strlen(spec) > 64 ||
        sscanf(spec, "%7[a-zA-Z]:%7[0-9]:%15[0-9.]:%7[0-9]%c", proto, hp, ip, cp, &extra) != 4)
        return cm_error_set(err, 0, "port mapping '%.64s' is not PROTO:HOSTPORT:IPV4:PORT",
                            spec ? spec : "");
    p = agent_nat_proto_from_name(proto);
    errno = 0;
    h = strtol(hp, &end, 10);
    c = errno || *end ? -1 : strtol(cp, &end, 10);
    if (p < 0 || errno || *end || h < 1 || h > 65535 || c < 1 || c > 65535 ||
        inet_pton(AF_INET, ip, &a) != 1)
        return cm_error_set(
            err, 0, "port mapping '%s': tcp or udp, ports 1-65535 and an IPv4 address", spec);
    e = (struct agent_nat_entry){(uint8_t)p, (uint16_t)h, a.s_addr, (uint16_t)c};
    if (agent_nat_entry_check(&e, err) < 0)
        return -1;
    *ret = e;
    return 0;
}

char *
agent_nat_entry_format(const struct agent_nat_entry *e)
{
    char a[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &e->addr, a, sizeof a);
    return xasprintf("%s:%u:%s:%u", agent_nat_proto_name(e->proto), e->host_port, a,
                     e->container_port);
}

void
agent_nat_plan(const struct agent_nat_entry *cur, size_t n_cur, const struct agent_nat_entry *want,
               size_t n_want, struct agent_nat_entry *ret_del, size_t *ret_n_del,
               struct agent_nat_entry *ret_add, size_t *ret_n_add)
{
    cleanup_free struct agent_nat_entry *c = xmalloc((n_cur + 1) * sizeof *c);
    cleanup_free struct agent_nat_entry *w = xmalloc((n_want + 1) * sizeof *w);
    size_t i = 0, k = 0, nd = 0, na = 0, nw = 0;

    if (n_cur)
        memcpy(c, cur, n_cur * sizeof *c);
    qsort(c, n_cur, sizeof *c, cmp_key_v);
    /* A stable order with the first of duplicate keys kept: sort indices
     * would do too, but insertion keeps it simple for the sizes we see. */
    for (size_t j = 0; j < n_want; j++) {
        size_t pos = nw;
        bool dup = false;
        while (pos > 0 && cmp_key(&w[pos - 1], &want[j]) > 0)
            pos--;
        if (pos > 0 && cmp_key(&w[pos - 1], &want[j]) == 0)
            dup = true;
        if (dup)
            continue;
        memmove(w + pos + 1, w + pos, (nw - pos) * sizeof *w);
        w[pos] = want[j];
        nw++;
    }
    while (i < n_cur || k < nw) {
        int o = i == n_cur ? 1 : k == nw ? -1 : cmp_key(&c[i], &w[k]);
        if (o < 0) {
            ret_del[nd++] = c[i++];
        } else if (o > 0) {
            ret_add[na++] = w[k++];
        } else {
            if (!same_data(&c[i], &w[k])) {
                ret_del[nd++] = c[i];
                ret_add[na++] = w[k];
            }
            i++;
            k++;
        }
    }
    *ret_n_del = nd;
    *ret_n_add = na;
}

/* ---- messages ---- */

void
agent_nat_batch_init(struct agent_nat_batch *b, uint32_t seq)
{
    *b = (struct agent_nat_batch){.seq0 = seq, .seq = seq};
}

void
agent_nat_batch_done(struct agent_nat_batch *b)
{
    for (uint32_t s = b->seq0; b->what && s != b->seq; s++)
        free(b->what[s - b->seq0]);
    free(b->what);
    free(b->buf);
    *b = (struct agent_nat_batch){0};
}

static void *
room(struct agent_nat_batch *b)
{
    if (b->cap - b->len < MSG_ROOM) {
        size_t cap = b->cap;
        b->buf = xreallocarray_grow(b->buf, &cap, b->len + MSG_ROOM, 1);
        b->cap = cap;
    }
    memset(b->buf + b->len, 0, MSG_ROOM);
    return b->buf + b->len;
}

static void
note(struct agent_nat_batch *b, const char *what)
{
    size_t i = b->seq - b->seq0;
    b->what = xrealloc(b->what, (i + 1) * sizeof *b->what);
    b->what[i] = what ? xstrdup(what) : NULL;
    b->seq++;
}

static void
put(struct agent_nat_batch *b, struct nlmsghdr *nlh)
{
    b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

void
agent_nat_batch_begin(struct agent_nat_batch *b)
{
    struct nlmsghdr *nlh = nftnl_batch_begin(room(b), b->seq);
    note(b, NULL);
    put(b, nlh);
}

void
agent_nat_batch_end(struct agent_nat_batch *b)
{
    struct nlmsghdr *nlh = nftnl_batch_end(room(b), b->seq);
    note(b, NULL);
    put(b, nlh);
}

/* The header of a message that the kernel acknowledges (or fails). */
static struct nlmsghdr *
msg(struct agent_nat_batch *b, uint16_t type, uint16_t flags, const char *what)
{
    struct nlmsghdr *nlh =
        nftnl_nlmsg_build_hdr(room(b), type, NFPROTO_IPV4, flags | NLM_F_ACK, b->seq);
    note(b, what);
    b->n_acked++;
    return nlh;
}

/* ---- rule expressions ---- */

static void
e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

static void
e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
    struct nftnl_expr *e = nftnl_expr_alloc("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    nftnl_rule_add_expr(r, e);
}

static void
e_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
    struct nftnl_expr *e = nftnl_expr_alloc("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    nftnl_rule_add_expr(r, e);
}

static void
e_mask(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len)
{
    static const uint8_t zero[16];
    struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
    nftnl_rule_add_expr(r, e);
}

/* iifname / oifname == name (the whole IFNAMSIZ, as nft compares). */
static void
e_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
    char buf[IFNAMSIZ] = {0};
    snprintf(buf, sizeof buf, "%s", name);
    e_meta(r, key, NFT_REG_1);
    e_cmp(r, NFT_REG_1, NFT_CMP_EQ, buf, sizeof buf);
}

/* ip saddr/daddr & mask == net (both network byte order). */
static void
e_ip_in(struct nftnl_rule *r, uint32_t offset, uint32_t net, uint32_t mask)
{
    e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, 4, NFT_REG32_00);
    e_mask(r, NFT_REG32_00, &mask, 4);
    e_cmp(r, NFT_REG32_00, NFT_CMP_EQ, &net, 4);
}

/* fib daddr type local */
static void
e_daddr_local(struct nftnl_rule *r)
{
    struct nftnl_expr *e = nftnl_expr_alloc("fib");
    uint32_t local = RTN_LOCAL;
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG32_00);
    nftnl_rule_add_expr(r, e);
    e_cmp(r, NFT_REG32_00, NFT_CMP_EQ, &local, sizeof local);
}

/* dnat ip to meta l4proto . th dport map @ports */
static void
e_dnat_map(struct nftnl_rule *r)
{
    struct nftnl_expr *e;

    e_meta(r, NFT_META_L4PROTO, NFT_REG32_00);
    e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
    e = nftnl_expr_alloc("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG32_00);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, AGENT_NAT_MAP);
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, MAP_ID);
    nftnl_rule_add_expr(r, e);
    e = nftnl_expr_alloc("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    nftnl_rule_add_expr(r, e);
}

static void
e_ct_dnat(struct nftnl_rule *r)
{
    struct nftnl_expr *e = nftnl_expr_alloc("ct");
    uint32_t bit = IPS_DST_NAT, zero = 0;
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG32_00);
    nftnl_rule_add_expr(r, e);
    e_mask(r, NFT_REG32_00, &bit, 4);
    e_cmp(r, NFT_REG32_00, NFT_CMP_NEQ, &zero, 4);
}

static void
e_masq(struct nftnl_rule *r)
{
    nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
}

static void
e_drop(struct nftnl_rule *r)
{
    struct nftnl_expr *e = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
    nftnl_rule_add_expr(r, e);
}

static struct nftnl_rule *
rule_new(const char *table, const char *chain)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    if (!r)
        abort();
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
    return r;
}

static void
put_rule(struct agent_nat_batch *b, struct nftnl_rule *r, const char *what)
{
    struct nlmsghdr *nlh = msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    put(b, nlh);
    nftnl_rule_free(r);
}

static int
parse_subnet(const char *subnet, uint32_t *ret_net, uint32_t *ret_mask, struct cm_error **err)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = subnet ? strchr(subnet, '/') : NULL;
    struct in_addr a;
    char *end;
    long p;

    if (!slash || (size_t)(slash - subnet) >= sizeof addr)
        return cm_error_set(err, 0, "nat: subnet '%s' is not A.B.C.D/P", subnet ? subnet : "");
    memcpy(addr, subnet, (size_t)(slash - subnet));
    addr[slash - subnet] = '\0';
    errno = 0;
    p = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, addr, &a) != 1 || errno || *end || end == slash + 1 || p < 1 || p > 32)
        return cm_error_set(err, 0, "nat: subnet '%s' is not A.B.C.D/P", subnet);
    *ret_mask = htonl(0xffffffffu << (32 - p));
    *ret_net = a.s_addr & *ret_mask;
    return 0;
}

int
agent_nat_batch_setup(struct agent_nat_batch *b, const char *table, const char *bridge,
                      const char *subnet, struct cm_error **err)
{
    static const struct {
        const char *name, *type;
        uint32_t hook;
        int32_t prio;
    } chains[] = {
        {"prerouting", "nat", NF_INET_PRE_ROUTING, -100},  /* dstnat */
        {"output", "nat", NF_INET_LOCAL_OUT, -100},        /* dstnat */
        {"postrouting", "nat", NF_INET_POST_ROUTING, 100}, /* srcnat */
        {"guard", "filter", NF_INET_PRE_ROUTING, -150},    /* mangle: before dstnat */
    };
    uint32_t net, mask, lo_net = htonl(0x7f000000), lo_mask = htonl(0xff000000);
    struct nftnl_table *t;
    struct nftnl_set *s;
    struct nftnl_rule *r;
    struct nlmsghdr *nlh;

    if (parse_subnet(subnet, &net, &mask, err) < 0)
        return -1;
    if (!bridge || !*bridge || strlen(bridge) >= IFNAMSIZ)
        return cm_error_set(err, 0, "nat: invalid bridge name '%s'", bridge ? bridge : "");

    t = nftnl_table_alloc();
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
    nlh = msg(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create table");
    nftnl_table_nlmsg_build_payload(nlh, t);
    put(b, nlh);
    nftnl_table_free(t);

    s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, AGENT_NAT_MAP);
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, KEY_TYPE);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, AGENT_NAT_KEY_LEN);
    nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, DATA_TYPE);
    nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, AGENT_NAT_DATA_LEN);
    nftnl_set_set_u32(s, NFTNL_SET_ID, MAP_ID);
    nlh = msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, "create map " AGENT_NAT_MAP);
    nftnl_set_nlmsg_build_payload(nlh, s);
    put(b, nlh);
    nftnl_set_free(s);

    for (size_t i = 0; i < sizeof chains / sizeof *chains; i++) {
        struct nftnl_chain *c = nftnl_chain_alloc();
        cleanup_free char *what = xasprintf("create chain %s", chains[i].name);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chains[i].name);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, chains[i].type);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, chains[i].hook);
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, chains[i].prio);
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nlh = msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, what);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        put(b, nlh);
        nftnl_chain_free(c);
        /* Flushed and filled again in the same transaction: an agent of
         * another version leaves no rule behind, and nothing goes unmatched. */
        free(what);
        what = xasprintf("flush chain %s", chains[i].name);
        r = rule_new(table, chains[i].name);
        nlh = msg(b, NFT_MSG_DELRULE, 0, what);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        put(b, nlh);
        nftnl_rule_free(r);
    }

    r = rule_new(table, "prerouting");
    e_daddr_local(r);
    e_dnat_map(r);
    put_rule(b, r, "add the prerouting dnat rule");
    r = rule_new(table, "output");
    e_daddr_local(r);
    e_dnat_map(r);
    put_rule(b, r, "add the output dnat rule");
    r = rule_new(table, "postrouting");
    e_ifname(r, NFT_META_OIFNAME, bridge);
    e_ip_in(r, 12, lo_net, lo_mask);
    e_masq(r);
    put_rule(b, r, "add the localhost masquerade rule");
    r = rule_new(table, "postrouting");
    e_ifname(r, NFT_META_OIFNAME, bridge);
    e_ip_in(r, 12, net, mask);
    e_ct_dnat(r);
    e_masq(r);
    put_rule(b, r, "add the hairpin masquerade rule");
    r = rule_new(table, "guard");
    e_ifname(r, NFT_META_IIFNAME, bridge);
    e_ip_in(r, 16, lo_net, lo_mask);
    e_drop(r);
    put_rule(b, r, "add the localnet guard rule");
    return 0;
}

void
agent_nat_batch_elems(struct agent_nat_batch *b, const char *table, bool add,
                      const struct agent_nat_entry *e, size_t n)
{
    for (size_t off = 0; off < n; off += AGENT_NAT_ELEMS_PER_MSG) {
        size_t m = n - off < AGENT_NAT_ELEMS_PER_MSG ? n - off : AGENT_NAT_ELEMS_PER_MSG;
        struct nftnl_set *s = nftnl_set_alloc();
        struct nlmsghdr *nlh;
        cleanup_free char *what = NULL;

        nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
        nftnl_set_set_str(s, NFTNL_SET_NAME, AGENT_NAT_MAP);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV4);
        for (size_t i = off; i < off + m; i++) {
            struct nftnl_set_elem *el = nftnl_set_elem_alloc();
            uint8_t key[AGENT_NAT_KEY_LEN], data[AGENT_NAT_DATA_LEN];
            agent_nat_key_encode(&e[i], key);
            nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, sizeof key);
            if (add) {
                agent_nat_data_encode(&e[i], data);
                nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, data, sizeof data);
            }
            nftnl_set_elem_add(s, el);
        }
        what = m == 1 ? xasprintf("%s map element %s %u", add ? "add" : "remove",
                                  agent_nat_proto_name(e[off].proto), e[off].host_port)
                      : xasprintf("%s %zu map elements (%s %u, ...)", add ? "add" : "remove", m,
                                  agent_nat_proto_name(e[off].proto), e[off].host_port);
        nlh = msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, what);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        put(b, nlh);
        nftnl_set_free(s);
    }
}

void
agent_nat_batch_del_table(struct agent_nat_batch *b, const char *table)
{
    struct nftnl_table *t = nftnl_table_alloc();
    struct nlmsghdr *nlh;

    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
    nlh = msg(b, NFT_MSG_DELTABLE, 0, "delete table");
    nftnl_table_nlmsg_build_payload(nlh, t);
    put(b, nlh);
    nftnl_table_free(t);
}

/* ---- the socket ---- */

struct agent_nat {
    struct mnl_socket *nl;
    uint32_t portid, seq;
    char *table, *bridge, *subnet;
};

struct agent_nat *
agent_nat_open(const char *bridge, const char *subnet, struct cm_error **err)
{
    struct agent_nat *nat;
    uint32_t net, mask;
    int one = 1, buf = 1 << 20;

    if (!bridge || !*bridge || strlen(bridge) >= IFNAMSIZ) {
        cm_error_set(err, 0, "nat: invalid bridge name '%s'", bridge ? bridge : "");
        return NULL;
    }
    if (subnet && parse_subnet(subnet, &net, &mask, err) < 0)
        return NULL;
    nat = xcalloc(1, sizeof *nat);
    nat->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nat->nl) {
        cm_error_errno(err, "nat: netlink socket");
        free(nat);
        return NULL;
    }
    if (mnl_socket_bind(nat->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        cm_error_errno(err, "nat: bind the netlink socket");
        mnl_socket_close(nat->nl);
        free(nat);
        return NULL;
    }
    /* Acks without the request echoed; errors with the kernel's words. */
    mnl_socket_setsockopt(nat->nl, NETLINK_CAP_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nat->nl, NETLINK_EXT_ACK, &one, sizeof one);
    /* Room for a reconcile's transactions (root may exceed wmem_max). */
    if (setsockopt(mnl_socket_get_fd(nat->nl), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(mnl_socket_get_fd(nat->nl), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (setsockopt(mnl_socket_get_fd(nat->nl), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(mnl_socket_get_fd(nat->nl), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    nat->portid = mnl_socket_get_portid(nat->nl);
    nat->seq = (uint32_t)time(NULL);
    nat->table = agent_nat_table_name(bridge);
    nat->bridge = xstrdup(bridge);
    nat->subnet = subnet ? xstrdup(subnet) : NULL;
    return nat;
}

struct agent_nat *
agent_nat_free(struct agent_nat *nat)
{
    if (!nat)
        return NULL;
    if (nat->nl)
        mnl_socket_close(nat->nl);
    free(nat->table);
    free(nat->bridge);
    free(nat->subnet);
    free(nat);
    return NULL;
}

const char *
agent_nat_table(const struct agent_nat *nat)
{
    return nat->table;
}

/* Drops whatever an earlier, failed exchange left in the socket. */
static void
drain(struct agent_nat *nat)
{
    char buf[RECV_BUF];
    while (recv(mnl_socket_get_fd(nat->nl), buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

/* Sends the dump request nlh (its seq set) and runs cb over the answers until
 * the kernel's NLMSG_DONE; buf (size bytes) receives them. -1 with errno
 * when the request or an answer failed (the kernel's error: ENOENT...), -2
 * with errno when the socket did. */
static int
dump(struct agent_nat *nat, struct nlmsghdr *nlh, char *buf, size_t size, mnl_cb_t cb, void *data)
{
    uint32_t seq = nlh->nlmsg_seq;

    if (mnl_socket_sendto(nat->nl, nlh, nlh->nlmsg_len) < 0)
        return -2;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nat->nl, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -2;
        int r = mnl_cb_run(buf, (size_t)n, seq, nat->portid, cb, data);
        if (r == MNL_CB_STOP)
            return 0;
        if (r < 0)
            return -1;
    }
}

/* Sends a transaction and collects an acknowledgement for each of its
 * messages: the kernel handles a batch in sendmsg() itself, so they are
 * queued by the time it returns (the poll only guards against surprises).
 * Fails with the first error, naming the message that caused it. */
static int
talk_lenient(struct agent_nat *nat, struct agent_nat_batch *b, int ignore, struct cm_error **err)
{
    char buf[RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    int fd = mnl_socket_get_fd(nat->nl);
    size_t got = 0;
    int first = 0;
    uint32_t first_seq = 0;
    const char *ext = NULL;
    char extbuf[256] = "";

    drain(nat);
    if (mnl_socket_sendto(nat->nl, b->buf, b->len) < 0)
        return cm_error_errno(err, "nat: send to netfilter");
    while (got < b->n_acked) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && first != 0)
            break; /* a batch refused as a whole is answered once (EPERM, ...) */
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 1000) <= 0)
                return cm_error_set(err, ETIMEDOUT, "nat: netfilter answered %zu of %zu messages",
                                    got, b->n_acked);
            continue;
        }
        if (n < 0)
            return cm_error_errno(err, "nat: receive from netfilter");
        int left = (int)n;
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            const struct nlmsgerr *e;
            if (nlh->nlmsg_type != NLMSG_ERROR)
                continue;
            if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e))
                continue;
            e = mnl_nlmsg_get_payload(nlh);
            got++;
            if (e->error != 0 && -e->error != ignore && first == 0) {
                first = -e->error;
                first_seq = nlh->nlmsg_seq;
                /* NLMSGERR_ATTR_MSG, when the kernel says more. */
                if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
                    const struct nlattr *a;
                    size_t off = sizeof *e;
                    mnl_attr_for_each(a, nlh, off)
                    {
                        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
                            mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                            snprintf(extbuf, sizeof extbuf, " (%s)", mnl_attr_get_str(a));
                            ext = extbuf;
                        }
                    }
                }
            }
        }
    }
    if (first) {
        const char *what = first_seq - b->seq0 < b->seq - b->seq0 && b->what[first_seq - b->seq0]
                               ? b->what[first_seq - b->seq0]
                               : "transaction";
        errno = first;
        return cm_error_set(err, first, "nat: table '%s': %s: %s%s", nat->table, what,
                            strerror(first), ext ? ext : "");
    }
    return 0;
}

static int
talk(struct agent_nat *nat, struct agent_nat_batch *b, struct cm_error **err)
{
    return talk_lenient(nat, b, 0, err);
}

static uint32_t
next_seq(struct agent_nat *nat, size_t n)
{
    uint32_t s = nat->seq;
    nat->seq += (uint32_t)n;
    return s;
}

int
agent_nat_setup(struct agent_nat *nat, struct cm_error **err)
{
    struct agent_nat_batch b;
    cleanup_error struct cm_error *e = NULL;
    int r;

    if (!nat->subnet)
        return cm_error_set(err, 0, "nat: setting the table up needs the subnet");
    agent_nat_batch_init(&b, next_seq(nat, 0));
    agent_nat_batch_begin(&b);
    if (agent_nat_batch_setup(&b, nat->table, nat->bridge, nat->subnet, err) < 0) {
        agent_nat_batch_done(&b);
        return -1;
    }
    agent_nat_batch_end(&b);
    nat->seq = b.seq;
    r = talk(nat, &b, &e);
    agent_nat_batch_done(&b);
    if (r == 0)
        return 0;
    if (e->code != EEXIST && e->code != EBUSY && e->code != EOPNOTSUPP && e->code != EINVAL) {
        cm_error_set(err, e->code, "%s", e->msg);
        return -1;
    }
    /* A table of ours that does not match (another version): made anew;
     * the caller's reconcile puts the mappings back. */
    cm_error_free(&e);
    agent_nat_batch_init(&b, nat->seq);
    agent_nat_batch_begin(&b);
    agent_nat_batch_del_table(&b, nat->table);
    if (agent_nat_batch_setup(&b, nat->table, nat->bridge, nat->subnet, err) < 0) {
        agent_nat_batch_done(&b);
        return -1;
    }
    agent_nat_batch_end(&b);
    nat->seq = b.seq;
    r = talk(nat, &b, err);
    agent_nat_batch_done(&b);
    return r;
}

struct list_ctx {
    struct agent_nat_entry *v;
    size_t n, cap;
    int bad;
};

static int
list_cb(const struct nlmsghdr *nlh, void *data)
{
    struct list_ctx *ctx = data;
    struct nftnl_set *s = nftnl_set_alloc();
    struct nftnl_set_elems_iter *it;
    struct nftnl_set_elem *el;

    if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
        nftnl_set_free(s);
        ctx->bad++;
        return MNL_CB_OK;
    }
    it = nftnl_set_elems_iter_create(s);
    while (it && (el = nftnl_set_elems_iter_next(it)) != NULL) {
        uint32_t kl = 0, dl = 0;
        const void *k = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &kl);
        const void *d = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &dl);
        struct agent_nat_entry e;
        if (agent_nat_entry_decode(k, kl, d, dl, &e, NULL) < 0) {
            ctx->bad++; /* not ours to judge: reconcile cannot name it, so it stays */
            continue;
        }
        ctx->v = xreallocarray_grow(ctx->v, &ctx->cap, ctx->n + 1, sizeof *ctx->v);
        ctx->v[ctx->n++] = e;
    }
    nftnl_set_elems_iter_destroy(it);
    nftnl_set_free(s);
    return MNL_CB_OK;
}

int
agent_nat_list(struct agent_nat *nat, struct agent_nat_entry **ret, size_t *ret_n,
               struct cm_error **err)
{
    char buf[RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct list_ctx ctx = {0};
    struct nftnl_set *s = nftnl_set_alloc();
    struct nlmsghdr *nlh;
    uint32_t seq = next_seq(nat, 1);
    int r;

    drain(nat);
    nftnl_set_set_str(s, NFTNL_SET_TABLE, nat->table);
    nftnl_set_set_str(s, NFTNL_SET_NAME, AGENT_NAT_MAP);
    nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP, seq);
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    r = dump(nat, nlh, buf, sizeof buf, list_cb, &ctx);
    if (r < 0) {
        int e = errno;
        free(ctx.v);
        if (r == -1 && e == ENOENT) { /* no table or map (yet): nothing mapped */
            *ret = NULL;
            *ret_n = 0;
            return 0;
        }
        errno = e;
        return cm_error_errno(err, "nat: list map '%s' of table '%s'", AGENT_NAT_MAP, nat->table);
    }
    *ret = ctx.v;
    *ret_n = ctx.n;
    return 0;
}

/* Removals then additions, in transactions of AGENT_NAT_ELEMS_PER_TXN. */
static int
update(struct agent_nat *nat, const struct agent_nat_entry *del, size_t n_del,
       const struct agent_nat_entry *add, size_t n_add, struct cm_error **err)
{
    size_t d = 0, a = 0;

    while (d < n_del || a < n_add) {
        struct agent_nat_batch b;
        size_t room = AGENT_NAT_ELEMS_PER_TXN, md, ma;
        int r;

        md = n_del - d < room ? n_del - d : room;
        room -= md;
        ma = n_add - a < room ? n_add - a : room;
        agent_nat_batch_init(&b, nat->seq);
        agent_nat_batch_begin(&b);
        if (md)
            agent_nat_batch_elems(&b, nat->table, false, del + d, md);
        if (ma)
            agent_nat_batch_elems(&b, nat->table, true, add + a, ma);
        agent_nat_batch_end(&b);
        nat->seq = b.seq;
        r = talk(nat, &b, err);
        agent_nat_batch_done(&b);
        if (r < 0)
            return -1;
        d += md;
        a += ma;
    }
    return 0;
}

/* ---- conntrack: UDP flows that predate a mapping ---- */

struct ct_ctx {
    const struct agent_nat_entry *e;
    size_t n;
    char *buf; /* CTA_TUPLE_ORIG attributes of the entries to delete, one after another */
    size_t len, cap;
};

static bool
ct_wanted(const struct ct_ctx *ctx, uint16_t port)
{
    for (size_t i = 0; i < ctx->n; i++)
        if (ctx->e[i].proto == IPPROTO_UDP && ctx->e[i].host_port == port)
            return true;
    return false;
}

static int
ct_cb(const struct nlmsghdr *nlh, void *data)
{
    struct ct_ctx *ctx = data;
    const struct nlattr *a, *t, *p;

    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
    {
        uint8_t proto = 0;
        uint16_t port = 0;
        if (mnl_attr_get_type(a) != CTA_TUPLE_ORIG)
            continue;
        mnl_attr_for_each_nested(t, a)
        {
            if (mnl_attr_get_type(t) != CTA_TUPLE_PROTO)
                continue;
            mnl_attr_for_each_nested(p, t)
            {
                if (mnl_attr_get_type(p) == CTA_PROTO_NUM && mnl_attr_get_payload_len(p) >= 1)
                    proto = mnl_attr_get_u8(p);
                else if (mnl_attr_get_type(p) == CTA_PROTO_DST_PORT &&
                         mnl_attr_get_payload_len(p) >= 2)
                    port = ntohs(mnl_attr_get_u16(p));
            }
        }
        if (proto == IPPROTO_UDP && ct_wanted(ctx, port)) {
            size_t len = NLA_ALIGN(a->nla_len);
            if (ctx->len + len > ctx->cap) {
                size_t cap = ctx->cap;
                ctx->buf = xreallocarray_grow(ctx->buf, &cap, ctx->len + len, 1);
                ctx->cap = cap;
            }
            memset(ctx->buf + ctx->len, 0, len);
            memcpy(ctx->buf + ctx->len, a, a->nla_len);
            ctx->len += len;
        }
    }
    return MNL_CB_OK;
}

/* Deletes the UDP conntrack entries whose original destination port is one
 * of e's host ports (what portmap does at ADD). A datagram to the port before
 * it was mapped, or to the task that had it before, left an entry that the
 * client's next datagrams keep following (to the host, or to an address that
 * is gone) as long as it keeps sending: nat chains only see a flow's first
 * packet. TCP needs nothing: a new connection is a new entry. */
static int
ct_flush_udp(struct agent_nat *nat, const struct agent_nat_entry *e, size_t n,
             struct cm_error **err)
{
    char buf[RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct ct_ctx ctx = {.e = e, .n = n};
    struct nlmsghdr *nlh;
    struct nfgenmsg *nfg;
    struct agent_nat_batch b;
    uint32_t seq = next_seq(nat, 1);
    int r;
    bool udp = false;

    for (size_t i = 0; i < n; i++)
        udp |= e[i].proto == IPPROTO_UDP;
    if (!udp)
        return 0;
    drain(nat);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
    nfg->nfgen_family = AF_INET;
    nfg->version = NFNETLINK_V0;
    if (dump(nat, nlh, buf, sizeof buf, ct_cb, &ctx) < 0) {
        int saved = errno;
        free(ctx.buf);
        errno = saved;
        return cm_error_errno(err, "nat: conntrack dump");
    }
    if (ctx.len == 0)
        return 0;
    /* One delete per entry, all in one send; an entry gone meanwhile is fine. */
    agent_nat_batch_init(&b, nat->seq);
    for (size_t off = 0; off < ctx.len;) {
        const struct nlattr *a = (const struct nlattr *)(ctx.buf + off);
        char *m = room(&b);
        nlh = mnl_nlmsg_put_header(m);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = b.seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
        nfg->nfgen_family = AF_INET;
        nfg->version = NFNETLINK_V0;
        memcpy(m + nlh->nlmsg_len, a, a->nla_len);
        nlh->nlmsg_len += NLA_ALIGN(a->nla_len);
        note(&b, "delete a udp conntrack entry");
        b.n_acked++;
        put(&b, nlh);
        off += NLA_ALIGN(a->nla_len);
    }
    free(ctx.buf);
    nat->seq = b.seq;
    r = talk_lenient(nat, &b, ENOENT, err);
    agent_nat_batch_done(&b);
    return r;
}

static void
set_localnet(struct agent_nat *nat)
{
    cleanup_free char *path = NULL;
    cleanup_close int fd = -1;

    /* Written at every mapping, not once: a bridge made anew (deleted by
     * hand, then by the next CNI ADD) starts with route_localnet off. */
    path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", nat->bridge);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    /* Without the bridge (not made yet) only 127.0.0.1 does not forward. */
    if (fd < 0 || write(fd, "1", 1) != 1)
        cm_log_debug("nat: cannot set '%s': %m (127.0.0.1 will not forward)", path);
}

int
agent_nat_add(struct agent_nat *nat, const struct agent_nat_entry *e, size_t n,
              struct cm_error **err)
{
    cleanup_error struct cm_error *first = NULL;
    cleanup_free struct agent_nat_entry *cur = NULL;
    cleanup_free struct agent_nat_entry *stale = NULL;
    size_t n_cur = 0, n_stale = 0;

    if (agent_nat_entries_check(e, n, err) < 0)
        return -1;
    set_localnet(nat);
    if (n == 0)
        return 0;
    if (update(nat, NULL, 0, e, n, &first) == 0) {
        /* Best effort: the mapping works for every new flow without it. */
        ct_flush_udp(nat, e, n, NULL);
        return 0;
    }
    if (first->code != EBUSY && first->code != EEXIST) {
        cm_error_set(err, first->code, "%s", first->msg);
        return -1;
    }
    /* Someone holds one of the keys with other data: a task we lost track
     * of (its ports are ours again). Replace it. */
    if (agent_nat_list(nat, &cur, &n_cur, err) < 0)
        return -1;
    stale = xcalloc(n_cur + 1, sizeof *stale);
    for (size_t i = 0; i < n_cur; i++)
        for (size_t k = 0; k < n; k++)
            if (cmp_key(&cur[i], &e[k]) == 0 && !same_data(&cur[i], &e[k]))
                stale[n_stale++] = cur[i];
    if (update(nat, stale, n_stale, e, n, err) < 0)
        return -1;
    ct_flush_udp(nat, e, n, NULL);
    return 0;
}

int
agent_nat_remove(struct agent_nat *nat, const struct agent_nat_entry *e, size_t n,
                 struct cm_error **err)
{
    cleanup_error struct cm_error *first = NULL;
    cleanup_free struct agent_nat_entry *cur = NULL;
    cleanup_free struct agent_nat_entry *gone = NULL;
    size_t n_cur = 0, n_gone = 0;

    if (n == 0 || update(nat, e, n, NULL, 0, &first) == 0)
        return 0;
    if (first->code != ENOENT) {
        cm_error_set(err, first->code, "%s", first->msg);
        return -1;
    }
    /* Some are gone already (a reconcile, an operator): remove the rest,
     * and only if they still map where this task's did. */
    if (agent_nat_list(nat, &cur, &n_cur, err) < 0)
        return -1;
    gone = xcalloc(n + 1, sizeof *gone);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n_cur; i++)
            if (cmp_key(&cur[i], &e[k]) == 0 && same_data(&cur[i], &e[k]))
                gone[n_gone++] = e[k];
    return update(nat, gone, n_gone, NULL, 0, err);
}

int
agent_nat_reconcile(struct agent_nat *nat, const struct agent_nat_entry *want, size_t n,
                    size_t *ret_removed, size_t *ret_added, struct cm_error **err)
{
    cleanup_free struct agent_nat_entry *cur = NULL;
    cleanup_free struct agent_nat_entry *del = NULL;
    cleanup_free struct agent_nat_entry *add = NULL;
    size_t n_cur = 0, n_del = 0, n_add = 0;

    for (size_t i = 0; i < n; i++)
        if (agent_nat_entry_check(&want[i], err) < 0)
            return -1;
    if (agent_nat_list(nat, &cur, &n_cur, err) < 0)
        return -1;
    del = xcalloc(n_cur + 1, sizeof *del);
    add = xcalloc(n + 1, sizeof *add);
    agent_nat_plan(cur, n_cur, want, n, del, &n_del, add, &n_add);
    if (n_add)
        set_localnet(nat);
    if (update(nat, del, n_del, add, n_add, err) < 0)
        return -1;
    ct_flush_udp(nat, add, n_add, NULL); /* as agent_nat_add */
    if (ret_removed)
        *ret_removed = n_del;
    if (ret_added)
        *ret_added = n_add;
    return 0;
}

int
agent_nat_destroy(struct agent_nat *nat, struct cm_error **err)
{
    struct agent_nat_batch b;
    cleanup_error struct cm_error *e = NULL;
    int r;

    agent_nat_batch_init(&b, nat->seq);
    agent_nat_batch_begin(&b);
    agent_nat_batch_del_table(&b, nat->table);
    agent_nat_batch_end(&b);
    nat->seq = b.seq;
    r = talk(nat, &b, &e);
    agent_nat_batch_done(&b);
    if (r < 0 && e->code != ENOENT) {
        cm_error_set(err, e->code, "%s", e->msg);
        return -1;
    }
    return 0;
}
