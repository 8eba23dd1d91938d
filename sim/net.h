/*
 * net: one device's link to the server, in both directions. Decides for
 * each message whether it is lost, how long it takes, and whether a second
 * copy arrives -- reordering falls out of independent latencies.
 *
 * Each link draws from its own stream ("net/<device>"), and every message
 * consumes the same number of draws whatever the fault settings, so turning
 * a fault on or off on one link shifts no other draw. The world checks
 * connectivity again at delivery time: a link cut while a message is in the
 * air loses it.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim/pcg.h"
#include "sim/scenario.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum drop_reason {
    DROP_NONE,
    DROP_OFFLINE,         /* the device is offline */
    DROP_PARTITION,       /* the link is cut in this direction */
    DROP_LOSS,            /* random loss */
    DROP_LOST_RESPONSE,   /* a server reply lost after the server acted */
    DROP_NODE_DOWN,       /* the receiver had crashed when it arrived */
    DROP_SERVER_TIMEOUT,  /* the server applied the request; the gateway gave up on its answer */
    DROP_REASON_COUNT,
} drop_reason;

typedef struct link_state {
    net_config config;
    bool online;          /* the device has network */
    int cut;              /* DIR_* bits cut silently */
    pcg32 rng;
} link_state;

typedef struct net_decision {
    drop_reason drop;
    int64_t delay_us;         /* latency of the message */
    bool duplicate;           /* a second copy is delivered too */
    int64_t duplicate_delay_us;
} net_decision;

void link_init(link_state *l, const net_config *config, uint64_t root_seed, const char *device_name);
/* direction is DIR_UP (device to server) or DIR_DOWN (server to device). */
net_decision link_decide(link_state *l, int direction);
/* Can a message cross now (checked at delivery)? */
drop_reason link_blocked(const link_state *l, int direction);
/* Remove probabilistic faults (loss, duplication, lost responses); latency stays. */
void link_calm(link_state *l);
const char *drop_reason_name(drop_reason r);
/* DIR_UP, DIR_DOWN or DIR_BOTH as a scenario writes it: "up", "down", "both". */
const char *link_direction_name(int direction);

#endif
