/* The fault injector and the fault budget (faults.c). */
#ifndef NR_SIM_FAULTS_H
#define NR_SIM_FAULTS_H

#include "sim.h"

/* One fault action of the fault phase (a weighted pick); schedules the next one. */
void sim_fault_event(struct sim_world *w);
/* After every step: mark the run beyond the budget once more than f members are down. */
void sim_budget_account(struct sim_world *w);
unsigned sim_down_count(const struct sim_world *w);
/* May the injector take member m down now? (budget-aware seeds keep <= f down) */
int sim_may_down(const struct sim_world *w, uint16_t m);
/* Is there room in the instance table for a restart round (n more instances and slack)? */
int sim_room(const struct sim_world *w);

#endif
