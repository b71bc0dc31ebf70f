#!/usr/bin/env python3
"""Seed corpora for test/fuzz/fuzz_mpt.c and fuzz_evidence.c from the captured anvil answers in
test/vectors/evidence_genesis.json (itself made by scripts/gen-evidence-vectors.js); the header
RLP is re-encoded here from the block's fields, in the order of src/eth/rpc_json.c.

    python3 scripts/gen-evidence-corpus.py"""
import json, os, struct, sys

root = os.path.join(os.path.dirname(__file__), '..')
v = json.load(open(os.path.join(root, 'test', 'vectors', 'evidence_genesis.json')))

def rlp_bytes(x):
    if len(x) == 1 and x[0] < 0x80:
        return x
    return rlp_len(len(x), 0x80) + x

def rlp_len(n, off):
    if n < 56:
        return bytes([off + n])
    ln = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([off + 55 + len(ln)]) + ln

FIELDS = [('parentHash', 'd'), ('sha3Uncles', 'd'), ('miner', 'd'), ('stateRoot', 'd'),
          ('transactionsRoot', 'd'), ('receiptsRoot', 'd'), ('logsBloom', 'd'),
          ('difficulty', 'q'), ('number', 'q'), ('gasLimit', 'q'), ('gasUsed', 'q'),
          ('timestamp', 'q'), ('extraData', 'd'), ('mixHash', 'd'), ('nonce', 'd'),
          ('baseFeePerGas', 'q'), ('withdrawalsRoot', 'd'), ('blobGasUsed', 'q'),
          ('excessBlobGas', 'q'), ('parentBeaconBlockRoot', 'd'), ('requestsHash', 'd')]

def header_rlp(blk):
    items = b''
    for name, kind in FIELDS:
        if name not in blk:
            break
        if kind == 'q':
            n = int(blk[name], 16)
            items += rlp_bytes(n.to_bytes((n.bit_length() + 7) // 8, 'big'))
        else:
            items += rlp_bytes(bytes.fromhex(blk[name][2:]))
    return rlp_len(len(items), 0xc0) + items

header = header_rlp(v['block'])
b = lambda h: bytes.fromhex(h[2:].rjust(64, '0') if len(h) < 66 else h[2:])
mpt_dir = os.path.join(root, 'test', 'fuzz', 'corpus', 'mpt')
ev_dir = os.path.join(root, 'test', 'fuzz', 'corpus', 'evidence')
os.makedirs(mpt_dir, exist_ok=True)
os.makedirs(ev_dir, exist_ok=True)

def nodes(lst):
    return b''.join(struct.pack('>H', len(n)) + n for n in (bytes.fromhex(x[2:]) for x in lst))

def write(d, name, data):
    open(os.path.join(d, name), 'wb').write(data)

# storage proofs: storage root, slot, nodes (fuzz_mpt hashes the slot into the key)
for tag in ('proof', 'absent_proof'):
    p = v[tag]
    for i, s in enumerate(p['storageProof'][:6]):
        write(mpt_dir, f'{tag}_storage{i}', b(p['storageHash']) + b(s['key']) + nodes(s['proof']))

def evidence(p, k, m):
    out = bytes.fromhex(v['registry'][2:]) + bytes([k, 0]) + struct.pack('>Q', v['height'])
    for _ in range(m):
        out += b'\0' + struct.pack('>H', len(header)) + header
    for n in p['accountProof']:
        n = bytes.fromhex(n[2:])
        out += b'\1' + struct.pack('>H', len(n)) + n
    for s in p['storageProof']:
        out += b'\2' + struct.pack('>H', 32) + b(s['key'])
        for n in s['proof']:
            n = bytes.fromhex(n[2:])
            out += b'\3' + struct.pack('>H', len(n)) + n
    return out

write(ev_dir, 'genesis_k1', evidence(v['proof'], 1, 1))
write(ev_dir, 'genesis_k2', evidence(v['proof'], 2, 2))
write(ev_dir, 'absent_k1', evidence(v['absent_proof'], 1, 1))
write(ev_dir, 'empty', b'\0' * 30)
print('gen-evidence-corpus: seeds in', mpt_dir, 'and', ev_dir)
