#!/usr/bin/env node
// Regenerate test/vectors/evidence_genesis.json: real eth_getBlockByNumber and eth_getProof
// answers from anvil (node_modules) for a NarratorRegistry with one finalised 3-member system
// and its recorded genesis. The unit tests (test/unit/test_eth_evidence.c) verify these bytes
// with src/eth/evidence.c and tamper with them.
//
//   npm ci && cmake --build build            (the contract: build/contracts/NarratorRegistry.bin)
//   node scripts/gen-evidence-vectors.js [build/contracts/NarratorRegistry.bin] [out.json]
//
// Independent of the C code on purpose: slots and the genesis id are computed here in
// JavaScript, so the vector also checks the C helpers (nr_registry_slot_*, nr_genesis_packed_id).
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { keccak256 } = require('js-sha3');

const root = path.join(__dirname, '..');
const binPath = process.argv[2] || path.join(root, 'build', 'contracts', 'NarratorRegistry.bin');
const outPath = process.argv[3] || path.join(root, 'test', 'vectors', 'evidence_genesis.json');

function fail(m) { process.stderr.write('gen-evidence-vectors: ' + m + '\n'); process.exit(1); }
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const kec = (b) => Buffer.from(keccak256.arrayBuffer(b));
const word = (n) => { const b = Buffer.alloc(32); b.writeBigUInt64BE(BigInt(n), 24); return b; };
const b32 = (s) => Buffer.from(s.replace(/^0x/, '').padStart(64, '0'), 'hex');
const sel = (sig) => kec(Buffer.from(sig)).subarray(0, 4);
const addBig = (slot, off) => b32((BigInt(hex(slot)) + BigInt(off)).toString(16));

function freePort() {
  return new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => {
    const p = s.address().port; s.close(() => res(p)); }); });
}

let url, id = 0;
async function rpc(method, params) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(method + ': ' + JSON.stringify(j.error));
  return j.result;
}
async function send(from, to, data) {
  const tx = await rpc('eth_sendTransaction', [{ from, to, data: hex(data), gas: '0x500000' }]);
  const rc = await rpc('eth_getTransactionReceipt', [tx]);
  if (rc.status !== '0x1') throw new Error('transaction reverted: ' + hex(data.subarray(0, 4)));
  return rc;
}

async function main() {
  const anvilDir = fs.readdirSync(path.join(root, 'node_modules', '@foundry-rs'))
    .find((d) => d.startsWith('anvil-'));
  if (!anvilDir) fail('anvil not in node_modules: run npm ci');
  const anvil = path.join(root, 'node_modules', '@foundry-rs', anvilDir, 'bin', 'anvil');
  const code = fs.readFileSync(binPath, 'utf8').trim();
  const port = await freePort();
  url = 'http://127.0.0.1:' + port;
  const child = spawn(anvil, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337'],
                      { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try { await rpc('eth_chainId', []); break; } catch (e) {
        if (i > 100) throw e; await new Promise((r) => setTimeout(r, 100)); }
    }
    const accts = await rpc('eth_accounts', []);
    const deploy = await rpc('eth_sendTransaction', [{ from: accts[0], data: '0x' + code, gas: '0x1000000' }]);
    const registry = (await rpc('eth_getTransactionReceipt', [deploy])).contractAddress;

    const systemId = kec(Buffer.from('evidence-vector-system'));
    const measurement = kec(Buffer.from('evidence-vector-measurement'));
    const n = 3, f = 1, epoch = 1;
    await send(accts[0], registry, Buffer.concat([sel('createSystem(bytes32,uint256,uint256,bytes32)'),
      systemId, word(n), word(f), measurement]));
    for (let i = 0; i < n; i++)
      await send(accts[1 + i], registry, Buffer.concat([sel('registerMember(bytes32,bytes32,bytes32,bytes32)'),
        systemId, kec(Buffer.from('platform/' + i)), kec(Buffer.from('identity/' + i)),
        kec(Buffer.from('evidence/' + i))]));
    await send(accts[0], registry, Buffer.concat([sel('finalize(bytes32)'), systemId]));
    // founders: member j founded as incarnation 100 + j with nonce 0x1111.. * (j + 1)
    const founders = Buffer.alloc(256);
    const fl = [];
    for (let j = 0; j < n; j++) {
      const inc = 100n + BigInt(j), nonce = 0x0101010101010101n * BigInt(j + 1);
      founders.writeBigUInt64BE(inc, 16 * j);
      founders.writeBigUInt64BE(nonce, 16 * j + 8);
      fl.push({ incarnation: inc.toString(), nonce: nonce.toString() });
    }
    const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
    const gid = kec(Buffer.concat([Buffer.from('narrator-genesis-v1'), systemId, u32(epoch), u32(n), founders]));
    const rg = await send(accts[2], registry, Buffer.concat([sel('recordGenesis(bytes32,uint256,bytes32,bytes32[8])'),
      systemId, word(epoch), gid, founders]));
    await rpc('anvil_mine', ['0x1']); // one more block: the evidence block is not the last one

    const sysBase = kec(Buffer.concat([systemId, word(0)]));
    const slotsFor = (ep) => {
      const s = [0, 1, 2, 3].map((o) => addBig(sysBase, o));
      s.push(kec(Buffer.concat([systemId, word(1)])));
      const g = kec(Buffer.concat([word(ep), kec(Buffer.concat([systemId, word(4)]))]));
      for (let o = 0; o < 10; o++) s.push(addBig(g, o));
      return s.map(hex);
    };
    const height = parseInt(rg.blockNumber, 16) + 1;
    const tag = '0x' + height.toString(16);
    const out = {
      about: 'Generated by scripts/gen-evidence-vectors.js from anvil; do not edit by hand.',
      anvil: await rpc('web3_clientVersion', []),
      registry, system_id: hex(systemId), measurement: hex(measurement), n, f, epoch,
      genesis_id: hex(gid), founders: fl, founders_words: hex(founders), poster: accts[2],
      genesis_block: parseInt(rg.blockNumber, 16), height,
      block: await rpc('eth_getBlockByNumber', [tag, false]),
      other_block: await rpc('eth_getBlockByNumber', ['0x' + (height - 1).toString(16), false]),
      slots: slotsFor(epoch),
      proof: await rpc('eth_getProof', [registry, slotsFor(epoch), tag]),
      absent_epoch: 2,
      absent_slots: slotsFor(2),
      absent_proof: await rpc('eth_getProof', [registry, slotsFor(2), tag]),
      absent_account: hex(kec(Buffer.from('no-such-account')).subarray(0, 20)),
      absent_account_proof: await rpc('eth_getProof', [hex(kec(Buffer.from('no-such-account')).subarray(0, 20)), [], tag]),
    };
    fs.mkdirSync(path.dirname(outPath), { recursive: true });
    fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + '\n');
    process.stdout.write('gen-evidence-vectors: ' + outPath + ' (height ' + height + ')\n');
  } finally {
    child.kill('SIGTERM');
  }
}
main().catch((e) => { fail(e.stack || String(e)); });
