// SPDX-License-Identifier: MIT
// Narrator registry: the one-time, trust-free initialisation of a network of state enclaves.
//
// A system is created once (S4: "the chain accepts exactly one initialisation" per system id),
// state enclaves register one membership slot per platform while it is open, and the creator
// finalises it once all n slots are taken. The finalised membership is epoch 1 (kind init).
// Once finalised, one member records the network's genesis for epoch 1 (the identity of the
// founding SE instances); the registry accepts exactly one genesis per (system, epoch). Later
// epochs (reconfiguration, recovery) are opened one at a time by the system's governance
// (openEpoch: the creator, or M of N operators after setGovernance), each naming the genesis of
// the epoch before it and the state root it begins from, and each gets its own genesis from a
// member of that epoch. Every failed precondition reverts with a reason string, and every step
// emits an event. Built with solc-js (see scripts/build-contract.js; evmVersion pinned).
pragma solidity 0.8.28;

contract NarratorRegistry {
    uint256 public constant MAX_MEMBERS = 255;

    struct Member {
        bytes32 platformId;   // TEE platform identity (one slot per platform)
        bytes32 identityKey;  // Ed25519 identity public key generated in the enclave
        bytes32 evidenceHash; // hash of the attestation evidence binding the key
        address account;      // Ethereum account that registered the member
    }

    struct System {
        address creator;
        uint32 n;
        uint32 f;
        bool finalized;
        uint64 createdBlock;
        uint64 finalizedBlock;
        bytes32 measurement; // the state enclave measurement all members run
        bytes32 membersHash; // keccak256 over all members, set at finalisation
    }

    mapping(bytes32 => System) private systems;
    mapping(bytes32 => Member[]) private members;
    mapping(bytes32 => mapping(bytes32 => bool)) private platformTaken;
    mapping(bytes32 => mapping(bytes32 => bool)) private identityTaken;
    // Added after the variables above so that their storage slots do not move (slot 4).
    mapping(bytes32 => mapping(uint256 => Genesis)) private geneses;

    // The genesis of an epoch: founder j (member index j < n <= 16) is 16 bytes at byte offset
    // 16 * (j % 2) of founders[j / 2]: big-endian uint64 incarnation, then big-endian uint64
    // nonce of the SE instance that founded the network; unused bytes are zero. Storage:
    // id at +0, blockNumber and poster packed at +1, founders at +2..+9.
    struct Genesis {
        bytes32 id;
        uint64 blockNumber;
        address poster;
        bytes32[8] founders;
    }
    uint256 public constant MAX_GENESIS_FOUNDERS = 16;

    // ---- epochs (docs/chain.md "Epochs") ----
    // Epoch 1 is the finalised system itself (kind init, the members above, no predecessor);
    // these records hold the epochs from 2 on. All of it is added after the variables above, so
    // that no slot moves: slots 5 .. 10.
    uint8 public constant KIND_INIT = 1;
    uint8 public constant KIND_RECONFIGURATION = 2;
    uint8 public constant KIND_RECOVERY = 3;
    uint256 public constant MAX_EPOCH_MEMBERS = 16; // = MAX_GENESIS_FOUNDERS: each has a genesis
    uint256 public constant MAX_OPERATORS = 16;

    // Storage: n [28,32), f [24,28), kind [23], openedBlock [15,23) at +0; membersHash +1,
    // predecessor +2, stateRoot +3, handoverHash +4.
    struct Epoch {
        uint32 n;
        uint32 f;
        uint8 kind;          // KIND_RECONFIGURATION or KIND_RECOVERY; 0: not open
        uint64 openedBlock;
        bytes32 membersHash; // see epochMembersHash
        bytes32 predecessor; // the genesis id of epoch - 1
        bytes32 stateRoot;   // the root of the state this epoch begins from
        bytes32 handoverHash; // keccak256 of the off-chain handover certificate (SEs check it)
    }

    // threshold 0: the creator governs alone; otherwise threshold of the operators.
    struct Governance {
        uint32 threshold;
        address[] operators;
    }

    // The last epoch opened with openEpoch; 0 while there is none (the current epoch is then 1
    // once the system is finalised).
    mapping(bytes32 => uint256) private lastOpenedEpoch;                   // slot 5
    mapping(bytes32 => mapping(uint256 => Epoch)) private epochs;          // slot 6
    mapping(bytes32 => mapping(uint256 => Member[])) private epochMembers; // slot 7
    mapping(bytes32 => Governance) private governance;                     // slot 8
    // Approvals of an openEpoch proposal (its hash names the system and the epoch).
    mapping(bytes32 => uint256) private approvalCount;                     // slot 9
    mapping(bytes32 => mapping(address => bool)) private approvedBy;       // slot 10

    event SystemCreated(bytes32 indexed systemId, address indexed creator, uint256 n, uint256 f,
                        bytes32 measurement);
    event MemberRegistered(bytes32 indexed systemId, uint256 indexed index, bytes32 platformId,
                           bytes32 identityKey, bytes32 evidenceHash, address account);
    event SystemFinalized(bytes32 indexed systemId, uint256 n, uint256 f, bytes32 measurement,
                          bytes32 membersHash);
    event GenesisRecorded(bytes32 indexed systemId, uint256 indexed epoch, bytes32 genesisId,
                          address poster);
    event GovernanceSet(bytes32 indexed systemId, uint256 threshold, address[] operators);
    event EpochApproved(bytes32 indexed systemId, uint256 indexed epoch, bytes32 proposal,
                        address operator, uint256 approvals);
    event EpochOpened(bytes32 indexed systemId, uint256 indexed epoch, uint8 kind,
                      bytes32 membersHash, bytes32 predecessor, bytes32 stateRoot);

    function createSystem(bytes32 systemId, uint256 n, uint256 f, bytes32 measurement) external {
        require(systemId != bytes32(0), "system id must not be zero");
        require(systems[systemId].creator == address(0), "system already exists");
        require(n >= 1 && n <= MAX_MEMBERS, "n out of range");
        require(f < n && n == 2 * f + 1, "n must equal 2f+1"); // f < n: no overflow
        require(measurement != bytes32(0), "measurement must not be zero");
        systems[systemId] = System({
            creator: msg.sender,
            n: uint32(n),
            f: uint32(f),
            finalized: false,
            createdBlock: uint64(block.number),
            finalizedBlock: 0,
            measurement: measurement,
            membersHash: bytes32(0)
        });
        emit SystemCreated(systemId, msg.sender, n, f, measurement);
    }

    function registerMember(bytes32 systemId, bytes32 platformId, bytes32 identityKey,
                            bytes32 evidenceHash) external {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(!s.finalized, "system is finalized");
        require(members[systemId].length < s.n, "membership is full");
        require(platformId != bytes32(0), "platform id must not be zero");
        require(identityKey != bytes32(0), "identity key must not be zero");
        require(!platformTaken[systemId][platformId], "platform already registered");
        require(!identityTaken[systemId][identityKey], "identity key already registered");
        platformTaken[systemId][platformId] = true;
        identityTaken[systemId][identityKey] = true;
        members[systemId].push(Member(platformId, identityKey, evidenceHash, msg.sender));
        emit MemberRegistered(systemId, members[systemId].length - 1, platformId, identityKey,
                              evidenceHash, msg.sender);
    }

    function finalize(bytes32 systemId) external {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(msg.sender == s.creator, "only the creator can finalize");
        require(!s.finalized, "system is finalized");
        require(members[systemId].length == s.n, "membership is incomplete");
        bytes32 h = keccak256(abi.encode(systemId, s.n, s.f, s.measurement));
        Member[] storage m = members[systemId];
        for (uint256 i = 0; i < m.length; i++) {
            h = keccak256(abi.encode(h, m[i].platformId, m[i].identityKey, m[i].evidenceHash));
        }
        s.finalized = true;
        s.finalizedBlock = uint64(block.number);
        s.membersHash = h;
        emit SystemFinalized(systemId, s.n, s.f, s.measurement, h);
    }

    // Record the genesis of an epoch: of epoch 1 (the finalised system) or of an epoch opened by
    // openEpoch. Any member OF THAT EPOCH may post it, from its registered account; the first one
    // wins and the others get "genesis already recorded". The id binds the system, the epoch,
    // n and the founders, and from epoch 2 on also the epoch's predecessor and state root:
    //   epoch 1:  keccak256(abi.encodePacked("narrator-genesis-v1", systemId, uint32(1),
    //                                        uint32(n), founders))
    //   epoch e:  keccak256(abi.encodePacked("narrator-genesis-v1", systemId, uint32(e),
    //                                        uint32(n), founders, predecessor, stateRoot))
    function recordGenesis(bytes32 systemId, uint256 epoch, bytes32 genesisId,
                           bytes32[8] calldata founders) external {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(s.finalized, "system is not finalized");
        uint256 n;
        bytes32 predecessor;
        bytes32 stateRoot;
        Member[] storage m;
        if (epoch == 1) {
            require(s.n <= MAX_GENESIS_FOUNDERS, "too many members for a genesis");
            n = s.n;
            m = members[systemId];
        } else {
            Epoch storage e = epochs[systemId][epoch];
            require(e.kind != 0, "epoch is not open");
            n = e.n;
            predecessor = e.predecessor;
            stateRoot = e.stateRoot;
            m = epochMembers[systemId][epoch];
        }
        require(hasAccount(m, msg.sender), "only a member can record the genesis");
        Genesis storage g = geneses[systemId][epoch];
        require(g.id == bytes32(0), "genesis already recorded");
        require(genesisId != bytes32(0), "genesis id must not be zero");
        bytes32 want = epoch == 1
            ? keccak256(abi.encodePacked("narrator-genesis-v1", systemId, uint32(epoch),
                                         uint32(n), founders))
            : keccak256(abi.encodePacked("narrator-genesis-v1", systemId, uint32(epoch),
                                         uint32(n), founders, predecessor, stateRoot));
        require(genesisId == want, "genesis id does not match its founders");
        g.id = genesisId;
        g.blockNumber = uint64(block.number);
        g.poster = msg.sender;
        g.founders = founders;
        emit GenesisRecorded(systemId, epoch, genesisId, msg.sender);
    }

    function hasAccount(Member[] storage m, address a) private view returns (bool) {
        for (uint256 i = 0; i < m.length; i++) {
            if (m[i].account == a) return true;
        }
        return false;
    }

    // ---- governance ----

    // Switch the system's governance from the creator alone to threshold of these operators
    // (M of N). Once per system, by the creator, before or after finalize.
    function setGovernance(bytes32 systemId, address[] calldata operators, uint256 threshold)
        external
    {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(msg.sender == s.creator, "only the creator can set the governance");
        Governance storage gov = governance[systemId];
        require(gov.threshold == 0, "governance already set");
        require(operators.length >= 1 && operators.length <= MAX_OPERATORS,
                "operators out of range");
        require(threshold >= 1 && threshold <= operators.length, "threshold out of range");
        for (uint256 i = 0; i < operators.length; i++) {
            require(operators[i] != address(0), "operator must not be zero");
            for (uint256 j = 0; j < i; j++) {
                require(operators[j] != operators[i], "operator repeated");
            }
            gov.operators.push(operators[i]);
        }
        gov.threshold = uint32(threshold);
        emit GovernanceSet(systemId, threshold, operators);
    }

    function isGovernance(bytes32 systemId, address who) private view returns (bool) {
        Governance storage gov = governance[systemId];
        if (gov.threshold == 0) return who == systems[systemId].creator;
        for (uint256 i = 0; i < gov.operators.length; i++) {
            if (gov.operators[i] == who) return true;
        }
        return false;
    }

    // ---- epochs ----

    // Open epoch `epoch` = currentEpoch + 1 of a finalised system: its n = 2f+1 members (at most
    // 16, no platform and no identity key twice), how it begins (kind 2 reconfiguration or 3
    // recovery), the genesis id of the current epoch (predecessor: that genesis must be
    // recorded), the root of the state it begins from and the hash of the handover certificate.
    // Under the creator's governance the creator's call opens it. Under M-of-N governance each
    // operator's call is an approval of the proposal
    //   keccak256(abi.encode(systemId, epoch, n, f, kind, platformIds, identityKeys,
    //                        evidenceHashes, accounts, predecessor, stateRoot, handoverHash))
    // and the call that brings it to threshold distinct operators opens the epoch. Every check
    // runs on every approval, so a proposal that cannot open is refused at once.
    function openEpoch(bytes32 systemId, uint256 epoch, uint256 n, uint256 f, uint8 kind,
                       bytes32[] calldata platformIds, bytes32[] calldata identityKeys,
                       bytes32[] calldata evidenceHashes, address[] calldata accounts,
                       bytes32 predecessor, bytes32 stateRoot, bytes32 handoverHash) external {
        checkEpochHead(systemId, epoch, predecessor);
        checkEpochMembers(n, f, platformIds, identityKeys, evidenceHashes, accounts);
        require(kind == KIND_RECONFIGURATION || kind == KIND_RECOVERY,
                "kind must be 2 (reconfiguration) or 3 (recovery)");
        require(stateRoot != bytes32(0), "state root must not be zero");
        require(kind == KIND_RECOVERY || handoverHash != bytes32(0),
                "a reconfiguration needs a handover hash");
        uint256 threshold = governance[systemId].threshold;
        if (threshold != 0) {
            bytes32 proposal = keccak256(abi.encode(systemId, epoch, n, f, kind, platformIds,
                                                    identityKeys, evidenceHashes, accounts,
                                                    predecessor, stateRoot, handoverHash));
            require(!approvedBy[proposal][msg.sender], "operator already approved this proposal");
            approvedBy[proposal][msg.sender] = true;
            uint256 count = approvalCount[proposal] + 1;
            approvalCount[proposal] = count;
            emit EpochApproved(systemId, epoch, proposal, msg.sender, count);
            if (count < threshold) return;
        }
        storeEpoch(systemId, epoch, n, f, kind, predecessor, stateRoot, handoverHash);
        Member[] storage m = epochMembers[systemId][epoch];
        for (uint256 i = 0; i < n; i++) {
            m.push(Member(platformIds[i], identityKeys[i], evidenceHashes[i], accounts[i]));
        }
        bytes32 h = epochMembersHash(systemId, epoch);
        epochs[systemId][epoch].membersHash = h;
        emit EpochOpened(systemId, epoch, kind, h, predecessor, stateRoot);
    }

    function checkEpochHead(bytes32 systemId, uint256 epoch, bytes32 predecessor) private view {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(s.finalized, "system is not finalized");
        require(isGovernance(systemId, msg.sender), "only governance can open an epoch");
        uint256 current = currentEpoch(systemId);
        require(epoch == current + 1, "epoch must be the current epoch + 1");
        bytes32 g = geneses[systemId][current].id;
        require(g != bytes32(0), "the current epoch has no genesis");
        require(predecessor == g, "predecessor is not the current epoch's genesis");
    }

    function checkEpochMembers(uint256 n, uint256 f, bytes32[] calldata platformIds,
                               bytes32[] calldata identityKeys, bytes32[] calldata evidenceHashes,
                               address[] calldata accounts) private pure {
        require(n >= 1 && n <= MAX_EPOCH_MEMBERS, "n out of range");
        require(f < n && n == 2 * f + 1, "n must equal 2f+1");
        require(platformIds.length == n && identityKeys.length == n &&
                    evidenceHashes.length == n && accounts.length == n,
                "membership arrays must have n entries");
        for (uint256 i = 0; i < n; i++) {
            require(platformIds[i] != bytes32(0), "platform id must not be zero");
            require(identityKeys[i] != bytes32(0), "identity key must not be zero");
            require(accounts[i] != address(0), "member account must not be zero");
            for (uint256 j = 0; j < i; j++) {
                require(platformIds[j] != platformIds[i], "platform repeated in the membership");
                require(identityKeys[j] != identityKeys[i],
                        "identity key repeated in the membership");
            }
        }
    }

    function storeEpoch(bytes32 systemId, uint256 epoch, uint256 n, uint256 f, uint8 kind,
                        bytes32 predecessor, bytes32 stateRoot, bytes32 handoverHash) private {
        Epoch storage e = epochs[systemId][epoch];
        e.n = uint32(n);
        e.f = uint32(f);
        e.kind = kind;
        e.openedBlock = uint64(block.number);
        e.predecessor = predecessor;
        e.stateRoot = stateRoot;
        e.handoverHash = handoverHash;
        lastOpenedEpoch[systemId] = epoch;
    }

    // The members hash of an epoch: like finalize's, with the epoch mixed into the first word:
    //   H_0 = keccak256(abi.encode(systemId, epoch, n, f, measurement))
    //   H_i = keccak256(abi.encode(H_{i-1}, platformId_i, identityKey_i, evidenceHash_i))
    // (measurement: the system's). Epoch 1 keeps finalize's formula (no epoch word).
    function epochMembersHash(bytes32 systemId, uint256 epoch) private view returns (bytes32 h) {
        Epoch storage e = epochs[systemId][epoch];
        h = keccak256(abi.encode(systemId, epoch, e.n, e.f, systems[systemId].measurement));
        Member[] storage m = epochMembers[systemId][epoch];
        for (uint256 i = 0; i < m.length; i++) {
            h = keccak256(abi.encode(h, m[i].platformId, m[i].identityKey, m[i].evidenceHash));
        }
    }

    // ---- views ----

    // Static tuple: (exists, creator, n, f, measurement, registered, finalized, createdBlock,
    // finalizedBlock, membersHash), ten 32-byte words.
    struct SystemView {
        bool exists;
        address creator;
        uint256 n;
        uint256 f;
        bytes32 measurement;
        uint256 registered;
        bool finalized;
        uint256 createdBlock;
        uint256 finalizedBlock;
        bytes32 membersHash;
    }

    function getSystem(bytes32 systemId) external view returns (SystemView memory v) {
        System storage s = systems[systemId];
        v.exists = s.creator != address(0);
        v.creator = s.creator;
        v.n = s.n;
        v.f = s.f;
        v.measurement = s.measurement;
        v.registered = members[systemId].length;
        v.finalized = s.finalized;
        v.createdBlock = s.createdBlock;
        v.finalizedBlock = s.finalizedBlock;
        v.membersHash = s.membersHash;
    }

    function getMember(bytes32 systemId, uint256 index)
        external
        view
        returns (bytes32 platformId, bytes32 identityKey, bytes32 evidenceHash, address account)
    {
        require(index < members[systemId].length, "no such member");
        Member storage m = members[systemId][index];
        return (m.platformId, m.identityKey, m.evidenceHash, m.account);
    }

    // (id, blockNumber, poster, founders); id zero: no genesis recorded for (systemId, epoch).
    function getGenesis(bytes32 systemId, uint256 epoch)
        external
        view
        returns (bytes32 id, uint64 blockNumber, address poster, bytes32[8] memory founders)
    {
        Genesis storage g = geneses[systemId][epoch];
        return (g.id, g.blockNumber, g.poster, g.founders);
    }
    // The current epoch: 0 before finalize, 1 after it, then the last epoch opened.
    function currentEpoch(bytes32 systemId) public view returns (uint256) {
        uint256 last = lastOpenedEpoch[systemId];
        if (last != 0) return last;
        return systems[systemId].finalized ? 1 : 0;
    }

    // Static tuple: (exists, n, f, kind, membersHash, predecessor, stateRoot, handoverHash,
    // openedBlock, genesisId), ten 32-byte words. Epoch 1 is the finalised system: kind 1, its
    // members hash (finalize's formula), no predecessor, state root or handover, opened in the
    // finalisation block. genesisId zero: no genesis recorded for the epoch yet.
    struct EpochView {
        bool exists;
        uint256 n;
        uint256 f;
        uint256 kind;
        bytes32 membersHash;
        bytes32 predecessor;
        bytes32 stateRoot;
        bytes32 handoverHash;
        uint256 openedBlock;
        bytes32 genesisId;
    }

    function getEpoch(bytes32 systemId, uint256 epoch) external view returns (EpochView memory v) {
        if (epoch == 1) {
            System storage s = systems[systemId];
            if (!s.finalized) return v;
            v.exists = true;
            v.n = s.n;
            v.f = s.f;
            v.kind = KIND_INIT;
            v.membersHash = s.membersHash;
            v.openedBlock = s.finalizedBlock;
        } else {
            Epoch storage e = epochs[systemId][epoch];
            if (e.kind == 0) return v;
            v.exists = true;
            v.n = e.n;
            v.f = e.f;
            v.kind = e.kind;
            v.membersHash = e.membersHash;
            v.predecessor = e.predecessor;
            v.stateRoot = e.stateRoot;
            v.handoverHash = e.handoverHash;
            v.openedBlock = e.openedBlock;
        }
        v.genesisId = geneses[systemId][epoch].id;
    }

    // Member `index` of an epoch (epoch 1: the finalised members, as getMember).
    function getEpochMember(bytes32 systemId, uint256 epoch, uint256 index)
        external
        view
        returns (bytes32 platformId, bytes32 identityKey, bytes32 evidenceHash, address account)
    {
        Member[] storage list;
        if (epoch == 1) {
            require(systems[systemId].finalized, "no such epoch");
            list = members[systemId];
        } else {
            require(epochs[systemId][epoch].kind != 0, "no such epoch");
            list = epochMembers[systemId][epoch];
        }
        require(index < list.length, "no such member");
        Member storage m = list[index];
        return (m.platformId, m.identityKey, m.evidenceHash, m.account);
    }

    // (threshold, operators); threshold 0: the creator governs alone.
    function getGovernance(bytes32 systemId)
        external
        view
        returns (uint256 threshold, address[] memory operators)
    {
        Governance storage gov = governance[systemId];
        return (gov.threshold, gov.operators);
    }

    // Distinct operators that approved an openEpoch proposal (its hash: see openEpoch).
    function getApprovals(bytes32 proposal) external view returns (uint256) {
        return approvalCount[proposal];
    }
}
