/*
 * Narrator: Promela model of anchored genesis, update, read and join with SE restarts,
 * clones and blank instances.
 *
 * One AE record owned by member 0 (its sequencer), replicated on n = 2f+1 members.
 * Member 0 has K0 instances (incarnations), members 1..NR have K each, the others one; any
 * of them may run at the same time as the others (a restart that does not kill the old
 * instance is a clone). Every instance starts blank (the member's identity only: no state,
 * no hint, JOINING) whenever the scheduler picks it, possibly never; killing an instance is
 * the scheduler never picking it again.
 *
 * Genesis (docs/protocol.md section 6.2): a chain variable holds the one genesis record of
 * the system (0: none; else the id of a founders set, one instance per member), written once
 * by a post step while it is 0 (first proposal wins, never rolled back). A JOINING instance
 * that reads the record becomes ACTIVE by genesis if the record names it, with the founders
 * as its view; any other instance takes the record as its target and joins (f+1 ACCEPT
 * replies of that genesis). Every message carries the sender's genesis id (ACTIVE: its
 * genesis; JOINING: its target, 0 if none); an ACTIVE receiver drops messages of another
 * id, a JOINING receiver with a target drops messages naming another nonzero id.
 * With -D GENESIS_DONE the run starts after the genesis of the first instances instead
 * (record = the first incarnation of every member, all of them ACTIVE with the full view).
 *
 * Network: every message ever sent stays in a bounded pool (a sorted set of encoded
 * messages) and may be delivered to its destination any number of times, in any order, or
 * never: loss, duplication and reordering are all covered. Messages to halted instances
 * are dropped from the pool. The pool must never overflow (asserted): the bound M is part
 * of the configuration and is checked, not silently lossy.
 *
 * Checked properties (assertions, see docs/model.md):
 *   S2   no two different digests committed for one version
 *   S1   a read returns a version >= every commit (and read) that completed before it
 *        started, and the committed digest for that version
 *   ORD  commit order agrees with (stamp, version) order: a version proposed by a later
 *        incarnation of the owner is >= every version committed by an earlier one
 *   I3   a replica never sees two digests for one version with the same stamp
 *   S4   every ACTIVE instance serves the genesis on the chain (checked when it becomes
 *        ACTIVE, at every commit and at every read return; -D NOCHECK_S4 leaves it out, so
 *        that a mutation is shown to break S1 or S2 as well)
 *
 * Parameters (-D on the spin command line): N (3 or 5), K0, K, NR, VMAX, RMAX, M,
 * GENESIS_DONE, NOCHECK_S4.
 * Mutations (each disables one rule; spin must then find a counterexample):
 *   MUT_NO_JOIN_FILTER      join quorum counts replies of superseded incarnations
 *   MUT_ACCEPT_SUPERSEDED   replicas accept messages from superseded incarnations of a peer,
 *                           and an instance that learns it is superseded keeps running
 *   MUT_NO_MERGE            a joiner does not merge the records of its join replies
 *   MUT_NO_WRITEBACK        a read returns an unconfirmed record without writing it back
 *   MUT_GENESIS_UNANCHORED  an instance that holds the chain's record as its target but whose
 *                           JOIN_REQs every other member answered JOINING goes ACTIVE by a
 *                           genesis of its own (itself and those answerers), ignoring the chain
 *   MUT_NO_GENESIS_CHECK    messages of another genesis are not dropped (so blank instances'
 *                           first JOIN_REQs, sent before they know a target, now count)
 */

#ifndef N
#define N 3
#endif
#ifndef K0
#define K0 2
#endif
#ifndef K
#define K 2
#endif
#ifndef VMAX
#define VMAX 2
#endif
#ifndef RMAX
#define RMAX 1
#endif
#ifndef M
#define M 24
#endif

#ifndef NR
#define NR (N - 1)
#endif

#define F ((N - 1) / 2)
#define NI (K0 + NR * K + (N - 1 - NR))

/* genesis ids: a founders set (one incarnation f_j per member) has id
 *   1 + sum_j (f_j - 1) * W(j),  W(0) = 1, W(j) = K0 * K^(j-1) for 1 <= j <= NR
 * (members above NR have one instance); 0 means none. There are NG ids. */
#define CNT(m) ((m) == 0 -> K0 : ((m) <= NR -> K : 1))
#define POWK(e) ((e) <= 0 -> 1 : ((e) == 1 -> K : ((e) == 2 -> K * K : K * K * K)))
#define W(m) ((m) == 0 -> 1 : ((m) <= NR -> K0 * POWK((m) - 1) : 1))
#define NG (K0 * POWK(NR))
#define FOUNDER(g, m) ((m) <= NR -> (((g) - 1) / W(m)) % CNT(m) + 1 : 1)

/* instance id <-> (member, incarnation). Member 0 has incarnations 1..K0, members 1..NR
 * have 1..K, members NR+1..N-1 only 1 (they never restart). */
#define MEM(i) ((i) < K0 -> 0 : ((i) < K0 + NR * K -> 1 + ((i) - K0) / K : NR + 1 + ((i) - K0 - NR * K)))
#define INC(i) ((i) < K0 -> (i) + 1 : ((i) < K0 + NR * K -> ((i) - K0) % K + 1 : 1))
#define ID(m, k) ((m) == 0 -> (k) - 1 : ((m) <= NR -> K0 + ((m) - 1) * K + (k) - 1 : K0 + NR * K + (m) - NR - 1))

/* instance states */
#define S_IDLE 0 /* not started yet */
#define S_JOINING 1
#define S_ACTIVE 2
#define S_HALTED 3

/* owner record status */
#define O_COMMITTED 0 /* committed, or no record */
#define O_UNCONF 1    /* obtained by the join merge, not known committed */

/* owner rounds */
#define R_NONE 0
#define R_WRITE 1
#define R_FETCH 2
#define R_WBACK 3 /* write-back of an unconfirmed record for a read */

/* message encoding (one int):
 *   bits 0-2 type, 3-6 src instance, 7-10 dst (instance; member for JREQ),
 *   11-12 stamp, 13-14 version, 15-16 digest, 17-18 read id, 19.. sender's view (2 bits
 *   each), then the sender's genesis id (GB bits) */
#define T_JREQ 1
#define T_JACC 2
#define T_JSTALE 3
#define T_PREP 4
#define T_ACK 5
#define T_FETCH 6
#define T_FREP 7

#define MTYPE(x) ((x) & 7)
#define MSRC(x) (((x) >> 3) & 15)
#define MDST(x) (((x) >> 7) & 15)
#define MSTAMP(x) (((x) >> 11) & 3)
#define MVER(x) (((x) >> 13) & 3)
#define MDIG(x) (((x) >> 15) & 3)
#define MRID(x) (((x) >> 17) & 3)
#define MVIEW(x, j) (((x) >> (19 + 2 * (j))) & 3)
#if N > 3
#define GB 2 /* 19 + 10 + 2 = 31 bits: NG <= 3 */
#else
#define GB 4 /* NG <= 15 */
#endif
#define GSH (19 + 2 * N)
#define MGID(x) (((x) >> GSH) & ((1 << GB) - 1))

#define V(i, j) view[(i) * N + (j)]
#define SEEN(i, j) seen[(i) * N + (j)]
#define VOTE(i, j) vote[(i) * N + (j)]

/* event trace, printed only when spin replays a trail (pan does not execute printf) */
#define TR(i) printf("SE%d.%d ", MEM(i), INC(i))

/* ---- state ---- */
byte st[NI];
byte view[NI * N];
byte seen[NI * N];
byte rs[NI]; /* replica record of the owner-0 AE record: stamp, version, digest */
byte rv[NI];
byte rd[NI];
int vote[NI * N]; /* vote (the message) per member in the current round */
byte ost[K0];     /* owner instances only */
byte rnd[K0];
byte pv[K0];
byte nrd[K0];
byte rlo[K0];
byte gid[NI];     /* ACTIVE: the genesis it serves; JOINING: its target (0: none yet) */
byte chain;       /* the genesis record on chain (0: none); written once */
int pool[M];
#ifdef MUT_GENESIS_UNANCHORED
byte jans[NI * N]; /* incarnation of the latest JOINING answerer of each member (0: none) */
#define JANS(i, j) jans[(i) * N + (j)]
#endif

/* ---- history variables for the checks ---- */
byte cd[VMAX + 1];     /* committed digest per version (0: none) */
byte maxc;             /* highest version whose commit completed (AE acknowledged) */
byte maxr;             /* highest version returned by a completed read */
byte minprop[K0 + 1];  /* lowest version proposed by owner incarnation s */
byte maxcv[K0 + 1];    /* highest version committed by owner incarnation s */

/* ---- temporaries (never live across a step) ---- */
hidden int tmsg, hm, hmsg;
hidden byte hi, hj, hk, hx, hc, hs, hv, hd, hmask, hok, hdst, hinc;

#define TO(i, x) (MTYPE(x) == T_JREQ -> (MDST(x) == MEM(i) && MEM(MSRC(x)) != MEM(i)) : MDST(x) == (i))

/* build message from instance `src` into tmsg (view of src attached) */
inline mk(t, src, dst, s, v, d, r) {
    tmsg = t | (src << 3) | (dst << 7) | (s << 11) | (v << 13) | (d << 15) | (r << 17) |
           (gid[src] << GSH);
    hj = 0;
    do
    :: hj < N -> tmsg = tmsg | (V(src, hj) << (19 + 2 * hj)); hj++
    :: else -> break
    od
}

/* insert tmsg into the sorted pool (set semantics) */
inline send() {
    hi = 0;
    do
    :: hi < M && pool[hi] != 0 && pool[hi] < tmsg -> hi++
    :: else -> break
    od;
    if
    :: hi < M && pool[hi] == tmsg -> skip
    :: else ->
        assert(pool[M - 1] == 0); /* POOL: the bound M is large enough */
        hk = M - 1;
        do
        :: hk > hi -> pool[hk] = pool[hk - 1]; hk--
        :: else -> break
        od;
        pool[hi] = tmsg
    fi
}

/* drop from the pool every message that `cond` selects (x names the message) */
#define PURGE(cond) \
    hi = 0; hk = 0; \
    do \
    :: hi < M -> \
        if \
        :: pool[hi] != 0 && (cond) -> skip \
        :: else -> pool[hk] = pool[hi]; hk++ \
        fi; \
        hi++ \
    :: else -> break \
    od; \
    do \
    :: hk < M -> pool[hk] = 0; hk++ \
    :: else -> break \
    od

/* Replies (ACK, FETCH_REPLY, JOIN_REPLY) addressed to instance i outside the round they
 * answer can only make i learn newer incarnations (rule 3), which only removes behaviours;
 * they are dropped when the round ends, like a network loss (see docs/model.md). */
#define REPLY_TO(x, i) (MDST(x) == (i) && (MTYPE(x) == T_ACK || MTYPE(x) == T_FREP || \
                        MTYPE(x) == T_JACC || MTYPE(x) == T_JSTALE))

#ifdef MUT_GENESIS_UNANCHORED
inline clearjans(i) {
    hj = 0;
    do
    :: hj < N -> JANS(i, hj) = 0; hj++
    :: else -> break
    od
}
#else
#define clearjans(i) skip
#endif

/* halt instance i: drop its state, every message addressed to it and its join requests */
inline halt(i) {
    TR(i); printf("halts (superseded)\n");
    st[i] = S_HALTED;
    hj = 0;
    do
    :: hj < N -> V(i, hj) = 0; SEEN(i, hj) = 0; VOTE(i, hj) = 0; hj++
    :: else -> break
    od;
    rs[i] = 0; rv[i] = 0; rd[i] = 0; gid[i] = 0;
    clearjans(i);
    if
    :: MEM(i) == 0 -> ost[i] = 0; rnd[i] = 0; pv[i] = 0; nrd[i] = 0; rlo[i] = 0
    :: else -> skip
    fi;
    PURGE((MTYPE(pool[hi]) != T_JREQ && MDST(pool[hi]) == i) ||
          (MTYPE(pool[hi]) == T_JREQ && MSRC(pool[hi]) == i))
}

inline clearvotes(i) {
    hj = 0;
    do
    :: hj < N -> VOTE(i, hj) = 0; hj++
    :: else -> break
    od;
    PURGE(REPLY_TO(pool[hi], i))
}

/* rule 3: learn supersession from any received message */
inline learn(i, x) {
    hj = 0;
    do
    :: hj < N ->
        if
        :: MVIEW(x, hj) > SEEN(i, hj) -> SEEN(i, hj) = MVIEW(x, hj)
        :: else -> skip
        fi;
        hj++
    :: else -> break
    od;
    if
    :: INC(MSRC(x)) > SEEN(i, MEM(MSRC(x))) -> SEEN(i, MEM(MSRC(x))) = INC(MSRC(x))
    :: else -> skip
    fi;
#ifndef MUT_ACCEPT_SUPERSEDED
    if
    :: SEEN(i, MEM(i)) > INC(i) -> halt(i)
    :: else -> skip
    fi
#endif
}

/* rule 4 */
#ifndef MUT_ACCEPT_SUPERSEDED
#define ACCEPTS(i, src) (INC(src) == V(i, MEM(src)) && V(i, MEM(src)) >= SEEN(i, MEM(src)))
#else
#define ACCEPTS(i, src) (V(i, MEM(src)) != 0 && INC(src) <= V(i, MEM(src)))
#endif

/* Deliveries that the model performs. A message is delivered only when the receiver would
 * act on it; a delivery whose only effect would be rule 3 (learning newer incarnations,
 * possibly halting) is treated as a loss. Learning only ever makes an instance refuse more,
 * so every behaviour of the full protocol is matched by one of the model in which those
 * deliveries are withheld (argument in docs/model.md). For the same reason a reply that
 * can never be counted (its round is over, or a vote of that instance is already held) is
 * not put in the pool. */
#define NEWVOTE(i, x) (VOTE(i, MEM(MSRC(x))) == 0 || INC(MSRC(VOTE(i, MEM(MSRC(x))))) < INC(MSRC(x)))
/* Genesis check (protocol section 2 step 2), before anything is learnt from a message: an
 * ACTIVE receiver takes only messages of its own genesis, a JOINING one with a target only
 * messages naming no genesis or its target, a JOINING one without a target any message. */
#ifdef MUT_NO_GENESIS_CHECK
#define GOK(i, x) 1
#else
#define GOK(i, x) (st[i] == S_ACTIVE -> MGID(x) == gid[i] : \
                   (gid[i] == 0 || MGID(x) == 0 || MGID(x) == gid[i]))
#endif
/* An ACCEPT counts only for a joiner that knows its target (before, the chain has not been
 * read and nothing counts); JOINING answers are not messages of the model (see the post
 * step and, under MUT_GENESIS_UNANCHORED, the answer step), so a JOIN_REQ is acted on only
 * by ACTIVE receivers. */
#define USEFUL(i, x) (GOK(i, x) && ( \
    (MTYPE(x) == T_JREQ && st[i] == S_ACTIVE) || \
    (MTYPE(x) == T_JACC && st[i] == S_JOINING && gid[i] != 0 && MGID(x) != 0 && NEWVOTE(i, x)) || \
    (MTYPE(x) == T_JSTALE && st[i] == S_JOINING) || \
    ((MTYPE(x) == T_PREP || MTYPE(x) == T_FETCH) && st[i] == S_ACTIVE && ACCEPTS(i, MSRC(x))) || \
    (MTYPE(x) == T_ACK && st[i] == S_ACTIVE && MEM(i) == 0 && \
     (rnd[i] == R_WRITE || rnd[i] == R_WBACK) && MVER(x) == pv[i] && \
     ACCEPTS(i, MSRC(x)) && NEWVOTE(i, x)) || \
    (MTYPE(x) == T_FREP && st[i] == S_ACTIVE && MEM(i) == 0 && rnd[i] == R_FETCH && \
     MRID(x) == nrd[i] && ACCEPTS(i, MSRC(x)) && NEWVOTE(i, x))))

/* send a reply (to instance MDST(tmsg)) only if it can still be counted: now, or, for an
 * ACCEPT to a joiner that has no target yet, once it has read the chain */
inline reply() {
    if
    :: USEFUL(MDST(tmsg), tmsg) -> send()
    :: MTYPE(tmsg) == T_JACC && st[MDST(tmsg)] == S_JOINING && gid[MDST(tmsg)] == 0 -> send()
    :: else -> skip
    fi
}

/* STORE at replica i, entry stamped s */
inline store(i, s, v, d) {
    if
    :: rd[i] == 0 -> rs[i] = s; rv[i] = v; rd[i] = d
    :: rd[i] != 0 && s > rs[i] -> rs[i] = s; rv[i] = v; rd[i] = d
    :: rd[i] != 0 && s == rs[i] ->
        assert(!(v == rv[i] && d != rd[i])); /* I3: one digest per (stamp, version) */
        if
        :: v > rv[i] -> rv[i] = v; rd[i] = d
        :: else -> skip
        fi
    :: rd[i] != 0 && s < rs[i] -> skip
    fi
}

/* QUORUM: count votes of instance i; hc = number counted (with selfv), hmask = members.
 * A vote of member j from incarnation J is discarded if the collector has seen a newer
 * incarnation of j or any other vote's view shows one. */
inline quorum(i, selfv, filter) {
    hc = selfv; hmask = 0; hs = 0;
    do
    :: hs < N ->
        hm = VOTE(i, hs);
        if
        :: hs != MEM(i) && hm != 0 ->
            hok = 1;
            if
            :: filter ->
                if
                :: SEEN(i, hs) > INC(MSRC(hm)) -> hok = 0
                :: else -> skip
                fi;
                hx = 0;
                do
                :: hx < N ->
                    if
                    :: VOTE(i, hx) != 0 && MVIEW(VOTE(i, hx), hs) > INC(MSRC(hm)) -> hok = 0
                    :: else -> skip
                    fi;
                    hx++
                :: else -> break
                od
            :: else -> skip
            fi;
            if
            :: hok -> hc++; hmask = hmask | (1 << hs)
            :: else -> skip
            fi
        :: else -> skip
        fi;
        hs++
    :: else -> break
    od
}

/* record a vote from message x: one vote per member, the first complete reply of the
 * newest incarnation heard from (a later reply of the same instance is a retransmission) */
inline keepvote(i, x) {
    if
    :: VOTE(i, MEM(MSRC(x))) == 0 || INC(MSRC(VOTE(i, MEM(MSRC(x))))) < INC(MSRC(x)) ->
        VOTE(i, MEM(MSRC(x))) = x;
        PURGE(REPLY_TO(pool[hi], i) && MSRC(pool[hi]) == MSRC(x))
    :: else -> skip
    fi
}

/* send the current round's PREPARE (stamp = own incarnation) to every peer in the view */
inline sendprep(i) {
    hv = 1;
    do
    :: hv < N ->
        if
        :: V(i, hv) != 0 ->
            hdst = ID(hv, V(i, hv));
            hinc = INC(i);
            mk(T_PREP, i, hdst, hinc, rv[i], rd[i], 0); send()
        :: else -> skip
        fi;
        hv++
    :: else -> break
    od
}

inline sendfetch(i) {
    hv = 1;
    do
    :: hv < N ->
        if
        :: V(i, hv) != 0 ->
            hdst = ID(hv, V(i, hv));
            mk(T_FETCH, i, hdst, 0, 0, 0, nrd[i]); send()
        :: else -> skip
        fi;
        hv++
    :: else -> break
    od
}

/* S4: an ACTIVE instance serves the genesis on chain */
#ifndef NOCHECK_S4
#define S4(i) assert(gid[i] == chain)
#else
#define S4(i) skip
#endif

/* a read completes at owner instance i: S1 */
inline readret(i) {
    TR(i); printf("read returns v%d d%d\n", rv[i], rd[i]);
    S4(i);
    assert(rv[i] >= rlo[i]);                   /* S1: no rollback */
    assert(rv[i] == 0 || cd[rv[i]] == rd[i]);  /* S1: the committed digest */
    if
    :: rv[i] > maxr -> maxr = rv[i]
    :: else -> skip
    fi;
    rnd[i] = R_NONE;
    clearvotes(i)
}

/* a commit round completes at owner instance i */
inline commit(i) {
    hv = pv[i]; hd = rd[i];
    TR(i); printf("COMMITS v%d digest d%d (genesis %d)\n", hv, hd, gid[i]);
    S4(i);
    assert(cd[hv] == 0 || cd[hv] == hd);       /* S2: no fork */
    cd[hv] = hd;
    hs = INC(i) + 1;
    do
    :: hs <= K0 ->
        assert(minprop[hs] == 0 || minprop[hs] >= hv); /* ORD */
        hs++
    :: else -> break
    od;
    if
    :: hv > maxcv[INC(i)] -> maxcv[INC(i)] = hv
    :: else -> skip
    fi;
    if
    :: hv > maxc -> maxc = hv
    :: else -> skip
    fi;
    ost[i] = O_COMMITTED;
    if
    :: rnd[i] == R_WBACK -> readret(i)
    :: else -> rnd[i] = R_NONE; clearvotes(i)
    fi
}

/* the owner incarnation i proposes version v */
inline propose(i, v) {
    hs = 1;
    do
    :: hs < INC(i) ->
        assert(maxcv[hs] <= v); /* ORD */
        hs++
    :: else -> break
    od;
    if
    :: minprop[INC(i)] == 0 -> minprop[INC(i)] = v
    :: else -> skip
    fi
}

/* join quorum complete at i: merge, set the view, become ACTIVE */
inline joindone(i) {
#ifndef MUT_NO_MERGE
    hs = 0;
    do
    :: hs < N ->
        hm = VOTE(i, hs);
        if
        :: (hmask & (1 << hs)) && MDIG(hm) != 0 &&
           (rd[i] == 0 || MSTAMP(hm) > rs[i] || (MSTAMP(hm) == rs[i] && MVER(hm) > rv[i])) ->
            rs[i] = MSTAMP(hm); rv[i] = MVER(hm); rd[i] = MDIG(hm)
        :: else -> skip
        fi;
        hs++
    :: else -> break
    od;
#endif
    if
    :: MEM(i) == 0 && rd[i] != 0 -> ost[i] = O_UNCONF
    :: else -> skip
    fi;
    hs = 0;
    do
    :: hs < N ->
        if
        :: hs != MEM(i) ->
            hv = 0; hx = 0;
            do
            :: hx < N ->
                if
                :: (hmask & (1 << hx)) && MVIEW(VOTE(i, hx), hs) > hv -> hv = MVIEW(VOTE(i, hx), hs)
                :: else -> skip
                fi;
                hx++
            :: else -> break
            od;
            V(i, hs) = hv;
            if
            :: hv > SEEN(i, hs) -> SEEN(i, hs) = hv
            :: else -> skip
            fi
        :: else -> skip
        fi;
        hs++
    :: else -> break
    od;
    clearvotes(i);
    clearjans(i);
    st[i] = S_ACTIVE;
    TR(i); printf("joined genesis %d with replies from members mask %d, record (stamp %d, v%d, d%d), view", gid[i], hmask, rs[i], rv[i], rd[i]);
    hs = 0;
    do
    :: hs < N -> printf(" %d", V(i, hs)); hs++
    :: else -> break
    od;
    printf("\n");
    S4(i)
}

/* ---- genesis (protocol section 6.2) ---- */

/* JOIN_REQ, naming the sender's genesis (its target), to every other member */
inline sendjreq(i) {
    hv = 0;
    do
    :: hv < N ->
        if
        :: hv != MEM(i) -> mk(T_JREQ, i, hv, 0, 0, 0, 0); send()
        :: else -> skip
        fi;
        hv++
    :: else -> break
    od;
    hv = 0
}

/* i becomes ACTIVE by genesis g: no records, view = the founders */
inline founder(i, g) {
    gid[i] = g;
    hs = 0;
    do
    :: hs < N ->
        V(i, hs) = FOUNDER(gid[i], hs);
        if
        :: V(i, hs) > SEEN(i, hs) -> SEEN(i, hs) = V(i, hs)
        :: else -> skip
        fi;
        hs++
    :: else -> break
    od;
    clearvotes(i);
    clearjans(i);
    st[i] = S_ACTIVE;
    TR(i); printf("ACTIVE by genesis %d (founders", gid[i]);
    hs = 0;
    do
    :: hs < N -> printf(" SE%d.%d", hs, V(i, hs)); hs++
    :: else -> break
    od;
    printf(")\n");
    S4(i)
}

/* JOINING instance i reads the record on chain: a named founder becomes ACTIVE, any other
 * instance takes it as its target and asks to join it */
inline readchain(i) {
    if
    :: FOUNDER(chain, MEM(i)) == INC(i) -> founder(i, chain)
    :: else ->
        gid[i] = chain;
        TR(i); printf("reads chain: genesis %d, not a founder: joins it, sends JOIN_REQ\n", chain);
        sendjreq(i)
    fi
}

/* Post step: a proposal founders = (a JOINING instance, the JOINING answerer of every other
 * member) is a candidate; the first one posted is the record. Before the record exists no
 * instance is ACTIVE, a JOINING instance answers every JOIN_REQ with JOINING, and none
 * halts (JOINING views name their own incarnation only), so a founders set can be proposed
 * exactly when all its instances have started: every such set may be posted. */
#define STARTED(g, m) ((m) >= N || st[ID(m, FOUNDER(g, m))] != S_IDLE)
#define POSTABLE(g) ((g) <= NG && STARTED(g, 0) && STARTED(g, 1) && STARTED(g, 2) && \
                     STARTED(g, 3) && STARTED(g, 4))
#define P(g) :: d_step { chain == 0 && POSTABLE(g) -> chain = g; \
    printf("chain: genesis %d recorded (founders", g); \
    hs = 0; \
    do \
    :: hs < N -> printf(" SE%d.%d", hs, FOUNDER(g, hs)); hs++ \
    :: else -> break \
    od; \
    printf(")\n"); hs = 0 }

proctype Chain() {
    do
    P(1) P(2) P(3) P(4) P(5) P(6) P(7) P(8) P(9) P(10) P(11) P(12)
    :: chain != 0 -> break
    od
}

#ifdef MUT_GENESIS_UNANCHORED
/* JOINING instance a answers a JOIN_REQ of JOINING instance i (both take the other's genesis
 * id: none, or the same target) */
#define ANSOK(i, a) (MEM(a) != MEM(i) && st[a] == S_JOINING && JANS(i, MEM(a)) == 0 && \
                     (gid[i] == 0 || gid[a] == 0 || gid[i] == gid[a]))
#define AN(k) :: (k) < NI && st[id] == S_JOINING && gid[id] != 0 && ANSOK(id, k) -> hk = k
#define AN4(b) AN(b) AN(b + 1) AN(b + 2) AN(b + 3)
#define ALLANS(i) ((MEM(i) == 0 || JANS(i, 0) != 0) && (MEM(i) == 1 || JANS(i, 1) != 0) && \
                   (MEM(i) == 2 || JANS(i, 2) != 0) && \
                   (N <= 3 || ((MEM(i) == 3 || JANS(i, 3) != 0) && (MEM(i) == 4 || JANS(i, 4) != 0))))
#endif

/* deliver message x to instance i (JOINING or ACTIVE) */
inline handle(i, x) {
    learn(i, x);
    if
    :: st[i] == S_HALTED -> skip
    :: st[i] != S_HALTED && MTYPE(x) == T_JREQ ->
        if
        :: st[i] == S_ACTIVE ->
            if
            :: INC(MSRC(x)) > V(i, MEM(MSRC(x))) && INC(MSRC(x)) >= SEEN(i, MEM(MSRC(x))) ->
                V(i, MEM(MSRC(x))) = INC(MSRC(x)); SEEN(i, MEM(MSRC(x))) = INC(MSRC(x));
                TR(i); TR(MSRC(x)); printf("admitted\n");
                /* an owner in a round retransmits its PREPARE / FETCH to the newly admitted
                 * incarnation (resends to unchanged peers only repeat pool messages) */
                if
                :: MEM(i) == 0 && (rnd[i] == R_WRITE || rnd[i] == R_WBACK) ->
                    hinc = INC(i); hdst = MSRC(x);
                    mk(T_PREP, i, hdst, hinc, rv[i], rd[i], 0); send()
                :: MEM(i) == 0 && rnd[i] == R_FETCH ->
                    hdst = MSRC(x);
                    mk(T_FETCH, i, hdst, 0, 0, 0, nrd[i]); send()
                :: else -> skip
                fi;
                mk(T_JACC, i, MSRC(x), rs[i], rv[i], rd[i], 0); reply()
            :: INC(MSRC(x)) == V(i, MEM(MSRC(x))) ->
                mk(T_JACC, i, MSRC(x), rs[i], rv[i], rd[i], 0); reply()
            :: else ->
                mk(T_JSTALE, i, MSRC(x), 0, 0, 0, 0); reply()
            fi
        :: else -> skip /* a JOINING member answers JOINING: no admission (see USEFUL) */
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_JACC ->
        if
        :: st[i] == S_JOINING ->
            keepvote(i, x);
#ifdef MUT_NO_JOIN_FILTER
            quorum(i, 0, 0);
#else
            quorum(i, 0, 1);
#endif
            if
            :: hc >= F + 1 -> joindone(i)
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_JSTALE ->
        if
        :: st[i] == S_JOINING -> halt(i)
        :: else -> skip
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_PREP ->
        if
        :: st[i] == S_ACTIVE && ACCEPTS(i, MSRC(x)) ->
            store(i, MSTAMP(x), MVER(x), MDIG(x));
            TR(i); printf("stores PREPARE from "); TR(MSRC(x)); printf("(v%d, d%d), acks\n", MVER(x), MDIG(x));
            mk(T_ACK, i, MSRC(x), 0, MVER(x), 0, 0); reply()
        :: else -> skip
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_FETCH ->
        if
        :: st[i] == S_ACTIVE && ACCEPTS(i, MSRC(x)) ->
            mk(T_FREP, i, MSRC(x), rs[i], rv[i], rd[i], MRID(x)); reply()
        :: else -> skip
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_ACK ->
        if
        :: st[i] == S_ACTIVE && MEM(i) == 0 && (rnd[i] == R_WRITE || rnd[i] == R_WBACK) &&
           MVER(x) == pv[i] && ACCEPTS(i, MSRC(x)) ->
            keepvote(i, x);
            quorum(i, 1, 1);
            if
            :: hc >= F + 1 -> commit(i)
            :: else -> skip
            fi
        :: else -> skip
        fi
    :: st[i] != S_HALTED && MTYPE(x) == T_FREP ->
        if
        :: st[i] == S_ACTIVE && MEM(i) == 0 && rnd[i] == R_FETCH && MRID(x) == nrd[i] &&
           ACCEPTS(i, MSRC(x)) ->
            if
            :: MSTAMP(x) > INC(i) -> halt(i) /* a newer incarnation of me stored a value */
            :: else ->
                keepvote(i, x);
                quorum(i, 1, 1);
                if
                :: hc >= F + 1 ->
#ifndef MUT_NO_WRITEBACK
                    if
                    :: ost[i] == O_UNCONF ->
                        clearvotes(i);
                        propose(i, rv[i]);
                        rs[i] = INC(i); pv[i] = rv[i]; rnd[i] = R_WBACK;
                        TR(i); printf("writes back v%d d%d\n", rv[i], rd[i]);
                        sendprep(i)
                    :: else -> readret(i)
                    fi
#else
                    readret(i)
#endif
                :: else -> skip
                fi
            fi
        :: else -> skip
        fi
    fi
}

#define R(k) :: pool[k] != 0 && TO(id, pool[k]) && USEFUL(id, pool[k]) -> hk = k
#define R4(b) R(b) R(b + 1) R(b + 2) R(b + 3)

proctype Inst(byte id) {
    do
    /* a blank instance starts: JOINING, no state, no target */
    :: d_step {
        st[id] == S_IDLE ->
        st[id] = S_JOINING;
        TR(id); printf("starts blank\n");
        SEEN(id, MEM(id)) = INC(id); V(id, MEM(id)) = INC(id);
#if defined(MUT_NO_GENESIS_CHECK)
        /* its first JOIN_REQs name no genesis; only MUT_NO_GENESIS_CHECK lets an ACTIVE
         * member act on them */
        sendjreq(id)
#elif !defined(MUT_GENESIS_UNANCHORED)
        /* without a target it can do nothing but wait for the chain (and be a founder of a
         * proposal): if the record exists already, reading it now or later is the same */
        if
        :: chain != 0 -> readchain(id)
        :: else -> skip
        fi
#endif
       }
    /* it reads the chain's record */
    :: d_step { st[id] == S_JOINING && gid[id] == 0 && chain != 0 -> readchain(id) }
#ifdef MUT_GENESIS_UNANCHORED
    /* a JOINING answer reaches it (JOIN_REQ and JOINING reply); only the first answer of
     * each member to an instance that knows its target is modelled, which is enough for the
     * mutation to be caught */
    :: atomic {
        if
        AN4(0) AN4(4)
#if NI > 8
        AN4(8) AN4(12)
#endif
        fi;
        d_step {
            JANS(id, MEM(hk)) = INC(hk);
            if
            :: INC(hk) > SEEN(id, MEM(hk)) -> SEEN(id, MEM(hk)) = INC(hk)
            :: else -> skip
            fi;
            TR(id); printf("JOIN_REQ answered JOINING by "); TR(hk); printf("\n");
            hk = 0
        }
       }
    /* MUTATION: with the chain's record as its target (so not named in it), it goes ACTIVE by
     * a genesis of its own: itself and its JOINING answerers */
    :: d_step {
        st[id] == S_JOINING && gid[id] != 0 && gid[id] == chain && ALLANS(id) ->
        hc = 1; hx = 1; hs = 0;
        do
        :: hs < N ->
            hv = (hs == MEM(id) -> INC(id) : JANS(id, hs));
            hc = hc + (hv - 1) * hx;
            hx = hx * CNT(hs);
            hs++
        :: else -> break
        od;
        TR(id); printf("NOT anchored (mutation): genesis of its own\n");
        founder(id, hc);
        hc = 0; hx = 0; hv = 0
       }
#endif
    /* a message is delivered (the options are exactly the deliverable messages, so that
     * an instance never commits to a delivery that cannot happen) */
    :: atomic {
        if
        R4(0) R4(4) R4(8) R4(12) R4(16) R4(20)
#if M > 24
        R4(24) R4(28)
#endif
#if M > 32
        R4(32) R4(36)
#endif
#if M > 40
        R4(40) R4(44)
#endif
#if M > 48
        R4(48) R4(52)
#endif
#if M > 56
        R4(56) R4(60)
#endif
        fi;
        d_step { hmsg = pool[hk]; hk = 0; handle(id, hmsg); hmsg = 0; hm = 0 }
       }
    /* the AE writes the next version */
    :: d_step {
        MEM(id) == 0 && st[id] == S_ACTIVE && rnd[id] == R_NONE && rv[id] < VMAX ->
        propose(id, rv[id] + 1);
        rs[id] = INC(id); rv[id] = rv[id] + 1; rd[id] = INC(id);
        pv[id] = rv[id]; rnd[id] = R_WRITE;
        TR(id); printf("proposes v%d d%d\n", rv[id], rd[id]);
        sendprep(id);
        hv = 0
       }
    /* the AE reads */
    :: d_step {
        MEM(id) == 0 && st[id] == S_ACTIVE && rnd[id] == R_NONE && nrd[id] < RMAX ->
        nrd[id]++;
        rlo[id] = (maxc > maxr -> maxc : maxr);
        rnd[id] = R_FETCH;
        TR(id); printf("starts a read (must return >= v%d)\n", rlo[id]);
        sendfetch(id);
        hv = 0
       }
    :: st[id] == S_HALTED -> break
    od
}

init {
    atomic {
        assert(NI <= 16 && NG < (1 << GB) && NG <= 12);
#ifdef GENESIS_DONE
        /* the record names the first incarnation of every member (id 1), all ACTIVE */
        chain = 1;
        hi = 0;
        do
        :: hi < N ->
            hk = ID(hi, 1);
            st[hk] = S_ACTIVE; gid[hk] = 1;
            hj = 0;
            do
            :: hj < N -> V(hk, hj) = 1; SEEN(hk, hj) = 1; hj++
            :: else -> break
            od;
            hi++
        :: else -> break
        od;
#else
        run Chain();
#endif
        hi = 0;
        do
        :: hi < NI -> run Inst(hi); hi++
        :: else -> break
        od;
        hi = 0; hj = 0; hk = 0
    }
}
