#!/usr/bin/env node
// Compile contracts/NarratorRegistry.sol with the pinned solc-js into a build directory.
//
//   node scripts/build-contract.js <out-dir> [source.sol]
//
// Writes (generated, never committed):
//   <out-dir>/NarratorRegistry.bin         creation bytecode, hex without 0x
//   <out-dir>/NarratorRegistry.abi.json    ABI
//   <out-dir>/NarratorRegistry.json        { compiler, evmVersion, abi, bytecode,
//                                             methodIdentifiers, gasEstimates }
// The EVM version, optimizer and code generator (viaIR) settings are pinned here so that every build of the same
// source yields the same bytecode. Exit status is non-zero on any compiler error.
'use strict';
const fs = require('fs');
const path = require('path');

const EVM_VERSION = 'paris'; // runs on any post-merge chain, also ones without PUSH0
const SOLC_VERSION = '0.8.28';
const CONTRACT = 'NarratorRegistry';

function fail(msg) {
  process.stderr.write('build-contract: ' + msg + '\n');
  process.exit(1);
}

const outDir = process.argv[2];
if (!outDir) fail('usage: build-contract.js <out-dir> [source.sol]');
const src = process.argv[3] || path.join(__dirname, '..', 'contracts', CONTRACT + '.sol');

let solc;
try {
  solc = require('solc');
} catch (e) {
  fail('solc-js not installed: run `npm ci` at the repository root (' + e.message + ')');
}
const version = solc.version();
if (!version.startsWith(SOLC_VERSION + '+')) fail('solc ' + version + ' found, ' + SOLC_VERSION + ' pinned');

const input = {
  language: 'Solidity',
  sources: { [path.basename(src)]: { content: fs.readFileSync(src, 'utf8') } },
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    // openEpoch takes 12 arguments, four of them calldata arrays: 16 stack words, beyond what
    // the legacy code generator can reach. The IR pipeline moves them; the storage layout is
    // the same either way (docs/chain.md).
    viaIR: true,
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers', 'evm.gasEstimates'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
let errors = 0;
for (const e of out.errors || []) {
  process.stderr.write(e.formattedMessage || e.message);
  if (e.severity === 'error') errors++;
}
if (errors) fail(errors + ' compiler error(s)');
const c = out.contracts[path.basename(src)][CONTRACT];
if (!c || !c.evm.bytecode.object) fail('no bytecode for ' + CONTRACT);

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, CONTRACT + '.bin'), c.evm.bytecode.object + '\n');
fs.writeFileSync(path.join(outDir, CONTRACT + '.abi.json'), JSON.stringify(c.abi, null, 2) + '\n');
fs.writeFileSync(path.join(outDir, CONTRACT + '.json'), JSON.stringify({
  compiler: 'solc-js ' + version,
  evmVersion: EVM_VERSION,
  abi: c.abi,
  bytecode: c.evm.bytecode.object,
  methodIdentifiers: c.evm.methodIdentifiers,
  gasEstimates: c.evm.gasEstimates,
}, null, 2) + '\n');
process.stdout.write('build-contract: ' + CONTRACT + ' (' + c.evm.bytecode.object.length / 2 +
                     ' bytes, solc ' + version + ', evm ' + EVM_VERSION + ') -> ' + outDir + '\n');
