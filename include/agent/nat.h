/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's own host port mapper (portMapper "nft", the default): bridge
 * tasks' host ports are DNAT'ed by one nftables table of ours, talked to over
 * netlink in-process (libmnl + libnftnl), instead of CNI's portmap plugin (a
 * Go binary running iptables several times, ~50 ms a task).
 *
 * The table, ip skiff-BRIDGE (one per bridge, so agents with their own
 * bridges in one network namespace keep apart), created once at start-up:
 *
 *   map ports { type inet_proto . inet_service : ipv4_addr . inet_service }
 *   chain prerouting  { type nat hook prerouting priority dstnat;
 *       fib daddr type local dnat ip to meta l4proto . th dport map @ports }
 *   chain output      { type nat hook output priority dstnat;        (same rule:
 *       connections made on the host itself, to any of its addresses) }
 *   chain postrouting { type nat hook postrouting priority srcnat;
 *       oifname BRIDGE ip saddr 127.0.0.0/8 masquerade               (localhost)
 *       oifname BRIDGE ip saddr SUBNET ct status dnat masquerade }   (hairpin)
 *   chain guard       { type filter hook prerouting priority mangle;
 *       iifname BRIDGE ip daddr 127.0.0.0/8 drop }
 *
 * 127.0.0.1:HOSTPORT works as with portmap's snat: the bridge gets
 * route_localnet=1 (a packet from 127.0.0.1 may then leave through it once
 * DNAT'ed; masquerade gives the container an address it can answer), and the
 * guard chain drops what route_localnet would otherwise let containers do:
 * send to the host's 127.0.0.0/8 services through the bridge.
 *
 * A task's mappings are map elements; adding or removing them is one
 * netlink transaction. The table outlives the agent (a kill -9 leaves the
 * containers reachable); a restarted agent reconciles the map against the
 * tasks it re-adopts (agent_nat_reconcile). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

#define AGENT_NAT_KEY_LEN 8  /* inet_proto . inet_service: 1 + 2 bytes, each padded to 4 */
#define AGENT_NAT_DATA_LEN 8 /* ipv4_addr . inet_service: 4 + 2 bytes (padded to 4) */
#define AGENT_NAT_MAP "ports"
/* Elements per netlink message and per transaction: messages stay well
 * under the 64 KiB attribute limit, transactions under the socket buffer. */
#define AGENT_NAT_ELEMS_PER_MSG 256
#define AGENT_NAT_ELEMS_PER_TXN 2048

struct agent_nat_entry {
    uint8_t proto;           /* IPPROTO_TCP or IPPROTO_UDP */
    uint16_t host_port;      /* host byte order, 1-65535 */
    uint32_t addr;           /* the container's IPv4 address, network byte order */
    uint16_t container_port; /* host byte order, 1-65535 */
};

/* "skiff-BRIDGE"; the caller frees it. */
char *agent_nat_table_name(const char *bridge);
/* "tcp" / "udp" (any case) -> IPPROTO_TCP / IPPROTO_UDP; -1 for anything else. */
int agent_nat_proto_from_name(const char *name);
const char *agent_nat_proto_name(uint8_t proto);

/* Validates one entry (protocol, ports, address) / a set of them (each valid,
 * no two with the same protocol and host port). */
int agent_nat_entry_check(const struct agent_nat_entry *e, struct cm_error **err);
int agent_nat_entries_check(const struct agent_nat_entry *e, size_t n, struct cm_error **err);

/* The map element's key and data as the kernel holds them (network byte
 * order, zero padding), and back; decode rejects anything else. */
void agent_nat_key_encode(const struct agent_nat_entry *e, uint8_t key[AGENT_NAT_KEY_LEN]);
void agent_nat_data_encode(const struct agent_nat_entry *e, uint8_t data[AGENT_NAT_DATA_LEN]);
int agent_nat_entry_decode(const void *key, size_t key_len, const void *data, size_t data_len,
                           struct agent_nat_entry *ret, struct cm_error **err);

/* "tcp:HOSTPORT:A.B.C.D:PORT" (skiff-agent port-mappings) and back (the
 * caller frees the string). */
int agent_nat_entry_parse(const char *spec, struct agent_nat_entry *ret, struct cm_error **err);
char *agent_nat_entry_format(const struct agent_nat_entry *e);

/* Reconcile decisions: what to remove from cur and add to reach want. An
 * element of cur whose key is wanted with other data is removed and the
 * wanted one added (both happen in one transaction). ret_del has room for
 * n_cur entries, ret_add for n_want; want should have unique keys (the
 * first of duplicates wins). */
void agent_nat_plan(const struct agent_nat_entry *cur, size_t n_cur,
                    const struct agent_nat_entry *want, size_t n_want,
                    struct agent_nat_entry *ret_del, size_t *ret_n_del,
                    struct agent_nat_entry *ret_add, size_t *ret_n_add);

/* ---- netlink messages (no socket: built into a buffer, for tests too) ---- */

struct agent_nat_batch {
    char *buf;
    size_t len, cap;
    uint32_t seq0, seq; /* the first and next sequence numbers */
    size_t n_acked;     /* messages that ask for an acknowledgement */
    char **what;        /* per sequence number from seq0: what the message does */
};

void agent_nat_batch_init(struct agent_nat_batch *b, uint32_t seq);
void agent_nat_batch_done(struct agent_nat_batch *b);
/* NFNL_MSG_BATCH_BEGIN / END around a transaction. */
void agent_nat_batch_begin(struct agent_nat_batch *b);
void agent_nat_batch_end(struct agent_nat_batch *b);
/* The table, its map and chains (created when missing, left as they are
 * otherwise), each chain flushed and its rules added again: one transaction
 * that leaves the map's elements alone. subnet: "A.B.C.D/P" (validated). */
int agent_nat_batch_setup(struct agent_nat_batch *b, const char *table, const char *bridge,
                          const char *subnet, struct cm_error **err);
/* Map elements added (add) or removed: AGENT_NAT_ELEMS_PER_MSG per message. */
void agent_nat_batch_elems(struct agent_nat_batch *b, const char *table, bool add,
                           const struct agent_nat_entry *e, size_t n);
void agent_nat_batch_del_table(struct agent_nat_batch *b, const char *table);

/* ---- the mapper: a netlink socket and the table ---- */

struct agent_nat;

/* Opens the netlink socket (nothing is changed yet). subnet may be NULL
 * when the table is not to be set up (listing, adding, removing). */
struct agent_nat *agent_nat_open(const char *bridge, const char *subnet, struct cm_error **err);
struct agent_nat *agent_nat_free(struct agent_nat *nat);
const char *agent_nat_table(const struct agent_nat *nat);
/* Creates or refreshes the table (agent_nat_batch_setup); a table of ours
 * with an incompatible map (another version) is made anew. */
int agent_nat_setup(struct agent_nat *nat, struct cm_error **err);
/* The map's elements (none when the table does not exist). *ret: xmalloc'ed. */
int agent_nat_list(struct agent_nat *nat, struct agent_nat_entry **ret, size_t *ret_n,
                   struct cm_error **err);
/* Adds one task's mappings in one transaction. A stale element holding one
 * of the keys with other data (a task the agent lost track of) is replaced. */
int agent_nat_add(struct agent_nat *nat, const struct agent_nat_entry *e, size_t n,
                  struct cm_error **err);
/* Removes them; elements already gone are not an error. */
int agent_nat_remove(struct agent_nat *nat, const struct agent_nat_entry *e, size_t n,
                     struct cm_error **err);
/* Makes the map hold exactly want (after a restart). */
int agent_nat_reconcile(struct agent_nat *nat, const struct agent_nat_entry *want, size_t n,
                        size_t *ret_removed, size_t *ret_added, struct cm_error **err);
/* Deletes the table (a missing one is not an error). */
int agent_nat_destroy(struct agent_nat *nat, struct cm_error **err);
