// SPDX-License-Identifier: MIT
// Narrator registry: the one-time, trust-free initialisation of a network of state enclaves.
//
// A system is created once (S4: "the chain accepts exactly one initialisation" per system id),
// state enclaves register one membership slot per platform while it is open, and the creator
// finalises it once all n slots are taken. A finalised system is frozen: state enclaves serve
// only members of a finalised system, read back from this contract with the configured number
// of confirmations. Once finalised, one member records the network's genesis for epoch 1 (the
// identity of the founding SE instances); the registry accepts exactly one genesis per
// (system, epoch). Every failed precondition reverts with a reason string, and every step
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

    event SystemCreated(bytes32 indexed systemId, address indexed creator, uint256 n, uint256 f,
                        bytes32 measurement);
    event MemberRegistered(bytes32 indexed systemId, uint256 indexed index, bytes32 platformId,
                           bytes32 identityKey, bytes32 evidenceHash, address account);
    event SystemFinalized(bytes32 indexed systemId, uint256 n, uint256 f, bytes32 measurement,
                          bytes32 membersHash);
    event GenesisRecorded(bytes32 indexed systemId, uint256 indexed epoch, bytes32 genesisId,
                          address poster);

    function createSystem(bytes32 systemId, uint256 n, uint256 f, bytes32 measurement) external {
        require(systemId != bytes32(0), "system id must not be zero");
        require(systems[systemId].creator == address(0), "system already exists");
        require(n >= 1 && n <= MAX_MEMBERS, "n out of range");
        require(n == 2 * f + 1, "n must equal 2f+1");
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

    // Record the genesis of epoch 1 (later epochs come with reconfiguration and recovery). Any
    // member may post it; the first one wins and the others get "genesis already recorded".
    function recordGenesis(bytes32 systemId, uint256 epoch, bytes32 genesisId,
                           bytes32[8] calldata founders) external {
        System storage s = systems[systemId];
        require(s.creator != address(0), "no such system");
        require(s.finalized, "system is not finalized");
        require(epoch == 1, "epoch must be 1");
        require(s.n <= MAX_GENESIS_FOUNDERS, "too many members for a genesis");
        Member[] storage m = members[systemId];
        bool isMember = false;
        for (uint256 i = 0; i < m.length; i++) {
            if (m[i].account == msg.sender) {
                isMember = true;
                break;
            }
        }
        require(isMember, "only a member can record the genesis");
        Genesis storage g = geneses[systemId][epoch];
        require(g.id == bytes32(0), "genesis already recorded");
        require(genesisId != bytes32(0), "genesis id must not be zero");
        require(genesisId == keccak256(abi.encodePacked("narrator-genesis-v1", systemId,
                                                        uint32(epoch), uint32(s.n), founders)),
                "genesis id does not match its founders");
        g.id = genesisId;
        g.blockNumber = uint64(block.number);
        g.poster = msg.sender;
        g.founders = founders;
        emit GenesisRecorded(systemId, epoch, genesisId, msg.sender);
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
}
