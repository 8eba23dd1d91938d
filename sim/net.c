/*
 * net: link decisions. Draw order per message, always all of them:
 * loss, lost-response, duplicate, latency, duplicate's latency.
 */
#include "sim/net.h"

#include <assert.h>
#include <stdio.h>

void link_init(link_state *l, const net_config *config, uint64_t root_seed, const char *device_name)
{
    char name[128];
    snprintf(name, sizeof name, "net/%s", device_name);
    l->config = *config;
    l->online = true;
    l->cut = 0;
    l->rng = pcg_stream(root_seed, name);
}

drop_reason link_blocked(const link_state *l, int direction)
{
    if (!l->online)
        return DROP_OFFLINE;
    if (l->cut & direction)
        return DROP_PARTITION;
    return DROP_NONE;
}

net_decision link_decide(link_state *l, int direction)
{
    assert(direction == DIR_UP || direction == DIR_DOWN);
    const link_config *cfg = direction == DIR_UP ? &l->config.up : &l->config.down;
    double u_loss = pcg32_unit(&l->rng);
    double u_lost_response = pcg32_unit(&l->rng);
    double u_duplicate = pcg32_unit(&l->rng);
    net_decision d = { .drop = DROP_NONE };
    d.delay_us = dist_sample_us(&cfg->latency, &l->rng);
    d.duplicate_delay_us = dist_sample_us(&cfg->latency, &l->rng);
    d.drop = link_blocked(l, direction);
    if (d.drop == DROP_NONE && u_loss < cfg->loss)
        d.drop = DROP_LOSS;
    if (d.drop == DROP_NONE && direction == DIR_DOWN && u_lost_response < l->config.lost_response)
        d.drop = DROP_LOST_RESPONSE;
    d.duplicate = d.drop == DROP_NONE && u_duplicate < cfg->duplicate;
    return d;
}

void link_calm(link_state *l)
{
    l->config.up.loss = l->config.down.loss = 0.0;
    l->config.up.duplicate = l->config.down.duplicate = 0.0;
    l->config.lost_response = 0.0;
}

const char *drop_reason_name(drop_reason r)
{
    switch (r) {
    case DROP_NONE: return "none";
    case DROP_OFFLINE: return "offline";
    case DROP_PARTITION: return "partition";
    case DROP_LOSS: return "loss";
    case DROP_LOST_RESPONSE: return "lost-response";
    case DROP_NODE_DOWN: return "node-down";
    case DROP_SERVER_TIMEOUT: return "server-timeout";
    case DROP_REASON_COUNT: break;
    }
    return "?";
}

const char *link_direction_name(int direction)
{
    switch (direction) {
    case DIR_UP: return "up";
    case DIR_DOWN: return "down";
    case DIR_BOTH: return "both";
    }
    return "?";
}
