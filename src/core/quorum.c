/* Rule QUORUM (docs/protocol.md §3): which collected votes count, through the view filters.
 * Shared by commit, read and join rounds. */
#include "core/se_internal.h"

/* Does member j's vote survive the view filters: not superseded in the collector's own
 * knowledge, nor in any other collected vote's view? */
int se_vote_counts(const struct nr_se *se, const struct vote *votes, uint16_t j, int filter)
{
    if (j == se->cfg.self || !votes[j].have)
        return 0;
    if (!filter)
        return 1;
#ifndef NR_MUTATE_ACCEPT_SUPERSEDED
    if (se->seen[j] > votes[j].inc)
        return 0;
#endif
    for (uint16_t k = 0; k < se->cfg.n; k++)
        if (k != j && k != se->cfg.self && votes[k].have && votes[k].view[j] > votes[j].inc)
            return 0;
    return 1;
}

/* Count distinct members whose votes survive the view filters; with_self counts the
 * collector. Sets *superseded if a vote shows a newer incarnation of the collector. */
uint16_t se_count_votes(const struct nr_se *se, const struct vote *votes, int with_self, int filter,
                        int *superseded)
{
    uint16_t count = 0;
    *superseded = 0;
    for (uint16_t j = 0; j < se->cfg.n; j++) {
        if (j != se->cfg.self && votes[j].have && votes[j].view[se->cfg.self] > se->inc)
            *superseded = 1;
        if (se_vote_counts(se, votes, j, filter))
            count++;
    }
    if (with_self)
        count++;
#ifdef NR_MUTATE_COUNT_SELF_TWICE
    if (with_self)
        count++;
#endif
    return count;
}
