/* The simulated network and the event heap (net.c): the interface the world and the fault
 * injector use. The links and held messages that scenarios drive are declared in sim.h. */
#ifndef NR_SIM_NET_H
#define NR_SIM_NET_H

#include "sim.h"

/* Event kinds in the heap, ordered by (simulated ms, sequence). */
enum {
    SIM_EV_DELIVER = 1,
    SIM_EV_TICK,
    SIM_EV_AE,
    SIM_EV_FAULT,
    SIM_EV_PERSISTED,
    SIM_EV_KILL,
    SIM_EV_RESTART,
    SIM_EV_HEAL,
    SIM_EV_POST,   /* a genesis proposal reaches the chain */
    SIM_EV_ANCHOR, /* the host feeds chain evidence to the instances that wait on it */
};

void sim_ev_push(struct sim_world *w, uint64_t at, int kind, int a, uint64_t b,
                 struct sim_msg *msg);
int sim_ev_pop(struct sim_world *w, struct sim_ev *out); /* 0: the heap is empty */

struct sim_msg *sim_msg_new(struct sim_world *w, int from, int to, const uint8_t *b, size_t len);
int sim_msg_type(const struct sim_msg *m);

/* A message from instance `from` to member `to_member`: unicast (one channel per member,
 * newest connection wins) or multicast, through the link modes, drop, duplicate and delay
 * rates of the current phase. */
void sim_net_send(struct sim_world *w, int from, uint16_t to_member, const uint8_t *b, size_t len);
/* Hand a message to its instance (dropped if it is dead); keeps it for replays. */
void sim_net_deliver(struct sim_world *w, struct sim_msg *m);

#endif
