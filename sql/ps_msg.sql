--
-- ps_push_msg and ps_pull_msg: pushes and pulls in the binary wire format
-- (src/common/ps_wire.h; README "Wire format").  Messages are written in
-- hex here, field by field:
--   header  5053 01 <kind> <flags:2> 0000 <count:4> <dim:4>
--           kind 01 push, 02 pull, 03 values; flags 0100 worker, 0200
--           range, 0400 sparse values; integers little-endian
--   worker  <worker:4> <clock:8>
--   keys    <first:8> for a range, else <length:4> and varints: the first
--           key zigzag-encoded, then the gaps between keys
--   values  float32s, or <nnz:4>, the position gaps (varints), the float32s
-- 1.0 = 0000803f, 2.0 = 00000040, 3.0 = 00004040, 0.5 = 0000003f.
--
CREATE TABLE msg_w (key bigint, val real) USING ps;
CREATE FUNCTION msg(text) RETURNS bytea LANGUAGE sql IMMUTABLE
	AS $$ SELECT decode(replace($1, ' ', ''), 'hex') $$;

-- A push of keys 1, 5 and 300 (varints 02 = zigzag(1), 04, a702 = 295):
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 03000000 01000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_pull('msg_w', '{1,5,300}');
-- The same again adds up, as ps_push does.
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 03000000 01000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_pull('msg_w', '{1,5,300}');

-- A pull of the same keys answers with a values message: header (kind 03)
-- and the values, dense here.
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 03000000 00000000 04000000 02 04 a702')), 'hex');
-- Asking for the table's dim (1) is the same as leaving it 0.
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 03000000 01000000 04000000 02 04 a702'))
     = ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 03000000 00000000 04000000 02 04 a702')) AS same;

-- A range push: keys 10, 11, 12, values sent sparse (two nonzero, at
-- positions 0 and 2: gaps 00 01).
SELECT ps_push_msg('msg_w', msg('5053 01 01 0600 0000 03000000 01000000 0a00000000000000 02000000 00 01 0000003f 00004040')) > 0 AS pushed;
SELECT ps_pull_range('msg_w', 9, 14);
-- A range pull of keys 0 .. 99: mostly zeros, so the answer is sparse
-- (flags 0400): nonzero at positions 1, 5, 10 and 12, gaps 01 03 04 01.
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 0200 0000 64000000 00000000 0000000000000000')), 'hex');
-- Negative keys and the extremes of bigint: keys -9223372036854775808
-- (zigzag ffff..ff01) and 9223372036854775807 (a gap of 2^64 - 1).
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 02000000 01000000 14000000 ffffffffffffffffff01 ffffffffffffffffff01 0000803f 00000040')) > 0 AS pushed;
SELECT ps_pull('msg_w', '{-9223372036854775808,9223372036854775807}');
-- An empty push changes nothing; an empty pull answers no values.
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 00000000 01000000 00000000')) > 0 AS pushed;
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 00000000 00000000 00000000')), 'hex');

-- A worker's push and pull name the worker and clock (flags 0100): they
-- move the worker's clock as ps_push and ps_pull do.
SELECT ps_join('msg_w') AS worker;
SELECT ps_push_msg('msg_w', msg('5053 01 01 0100 0000 01000000 01000000 01000000 0300000000000000 01000000 0e 0000803f')) > 0 AS pushed;
SELECT worker, clock FROM ps_workers('msg_w');
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 0100 0000 01000000 00000000 01000000 0500000000000000 01000000 0e')), 'hex');
SELECT worker, clock FROM ps_workers('msg_w');
SELECT ps_leave('msg_w', 1);

-- A table of dim 3 takes 3 values per key; a table without a dim yet
-- takes the message's.
CREATE TABLE msg_v (key bigint, val real[]) USING ps;
SELECT ps_push_msg('msg_v', msg('5053 01 01 0000 0000 01000000 03000000 01000000 04 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT key, val FROM msg_v;
SELECT encode(ps_pull_msg('msg_v', msg('5053 01 02 0000 0000 01000000 03000000 01000000 04')), 'hex');

--
-- Key caching: flag 0800 (cache) has the server remember the message's
-- key list for the session, under the hash of the list's encoded bytes and
-- count (5a71693ae6387754 for 02 04 a702, 3 keys: little-endian
-- 547738e63a69715a); flag 1000 (cached) names the list by that hash in
-- place of the keys.  Client and server compute the same hash
-- (ps_wire_hash), so it must not change.
--
SELECT ps_push_msg('msg_w', msg('5053 01 01 0800 0000 03000000 01000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_push_msg('msg_w', msg('5053 01 01 1000 0000 03000000 01000000 547738e63a69715a 0000803f 0000803f 0000803f')) > 0 AS pushed;
SELECT ps_pull('msg_w', '{1,5,300}');
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 1000 0000 03000000 00000000 547738e63a69715a')), 'hex');
-- A list the session does not hold (another hash, or another count) is
-- its own error, PS001: the client library then sends the keys.
\set VERBOSITY sqlstate
SELECT ps_pull_msg('msg_w', msg('5053 01 02 1000 0000 03000000 00000000 0000000000000000'));
\set VERBOSITY default
SELECT ps_pull_msg('msg_w', msg('5053 01 02 1000 0000 03000000 00000000 0000000000000000'));
SELECT ps_pull_msg('msg_w', msg('5053 01 02 1000 0000 02000000 00000000 547738e63a69715a'));
-- With ps.key_cache_size = 0 no list is kept: the push of key 7 with the
-- cache flag is applied, but its list (hash 2152693af0e63a2b) is not there
-- for the next message.
SET ps.key_cache_size = 0;
SELECT ps_push_msg('msg_w', msg('5053 01 01 0800 0000 01000000 01000000 01000000 0e 0000803f')) > 0 AS pushed;
SELECT ps_push_msg('msg_w', msg('5053 01 01 1000 0000 01000000 01000000 2b3ae6f03a695221 0000803f'));
RESET ps.key_cache_size;
-- key 7: 1 from the worker's push above, 1 now
SELECT ps_pull('msg_w', '{7}') AS key_7;
-- Caching applies to listed keys only, one way at a time.
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0a00 0000 03000000 00000000 0000000000000000'));
SELECT ps_pull_msg('msg_w', msg('5053 01 02 1800 0000 03000000 00000000 04000000 02 04 a702'));

--
-- Compressed values (flag 2000): the byte length of a zstd frame, then the
-- frame, which must decompress to exactly count * dim floats.  (A frame
-- of three 1.0s, stored raw as zstd does for so few bytes.)
--
SELECT ps_push_msg('msg_w', msg('5053 01 01 2000 0000 03000000 01000000 04000000 02 04 a702 15000000 28b52ffd200c6100000000803f0000803f0000803f')) > 0 AS pushed;
SELECT ps_pull('msg_w', '{1,5,300}');
-- a frame of two floats for three keys, bytes that are no frame, and
-- sparse values said to be compressed
SELECT ps_push_msg('msg_w', msg('5053 01 01 2000 0000 03000000 01000000 04000000 02 04 a702 11000000 28b52ffd20084100000000803f0000803f'));
SELECT ps_push_msg('msg_w', msg('5053 01 01 2000 0000 03000000 01000000 04000000 02 04 a702 04000000 deadbeef'));
SELECT ps_push_msg('msg_w', msg('5053 01 01 2400 0000 03000000 01000000 04000000 02 04 a702 00000000'));
SELECT ps_pull('msg_w', '{1,5,300}') AS unchanged;

--
-- Exactly-once pushes (flag 4000): after the worker section, the client's
-- id and the push's sequence number (uint64 each, not 0).  The table
-- records, in the same WAL as the values, each client's last push and how
-- far it got; a push that is no later than that record is not applied
-- again.  Flag 8000 marks a push sent again after a lost connection.
--
CREATE TABLE msg_once (key bigint, val real) USING ps;
-- client 0x11, push 1: applied
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 03000000 01000000 1100000000000000 0100000000000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{1,5,300}');
-- push 1 sent again: not applied again
SELECT ps_push_msg('msg_once', msg('5053 01 01 c000 0000 03000000 01000000 1100000000000000 0100000000000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{1,5,300}');
-- push 2 is applied; push 1 once more, older than the record, is not
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 03000000 01000000 1100000000000000 0200000000000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 03000000 01000000 1100000000000000 0100000000000000 04000000 02 04 a702 0000803f 00000040 00004040')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{1,5,300}');
-- another client (0x22) is counted on its own: its push 1 is applied
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 01000000 01000000 2200000000000000 0100000000000000 01000000 02 0000803f')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{1}');
-- A push sent again by a client the table has no record of is new there
-- (the client's first push to it had not arrived): applied.
SELECT ps_push_msg('msg_once', msg('5053 01 01 c000 0000 01000000 01000000 3300000000000000 0500000000000000 01000000 02 0000803f')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{1}');
-- A table keeps the records of 126 clients; the least recently written
-- goes to a new client.  Clients 0x0100 .. 0x017d (126 more) push key 2:
-- the records of 0x11, 0x22 and 0x33 are given away.
SELECT count(ps_push_msg('msg_once', msg('5053 01 01 4000 0000 01000000 01000000 '
         || lpad(to_hex(i % 256), 2, '0') || lpad(to_hex(i / 256), 2, '0') || '000000000000'
         || '0100000000000000 01000000 04 0000803f'))) AS pushes
  FROM generate_series(256, 381) i;
SELECT ps_pull('msg_once', '{2}');
-- Now a push sent again by a client without a record may be one whose
-- record was given away: whether it was applied cannot be told (PS002).
-- Client 0x11's push 2 was applied, and is refused, not applied twice.
\set VERBOSITY sqlstate
SELECT ps_push_msg('msg_once', msg('5053 01 01 c000 0000 03000000 01000000 1100000000000000 0200000000000000 04000000 02 04 a702 0000803f 00000040 00004040'));
\set VERBOSITY default
SELECT ps_push_msg('msg_once', msg('5053 01 01 c000 0000 03000000 01000000 1100000000000000 0200000000000000 04000000 02 04 a702 0000803f 00000040 00004040'));
-- The newest clients keep theirs: client 0x017d's push 1 again is not applied.
SELECT ps_push_msg('msg_once', msg('5053 01 01 c000 0000 01000000 01000000 7d01000000000000 0100000000000000 01000000 04 0000803f')) > 0 AS pushed;
SELECT ps_pull('msg_once', '{2}');
-- A push cut off part way is resumed where it stopped.  Key 90000 holds
-- 3e38 (e6b1617f), so a range push of 3e38 to keys 1 .. 100000 overflows
-- there, after the keys below it are written; once key 90000 is set back
-- to 0, the push sent again writes only the keys it had not: had it
-- written the first ones again, they would overflow.
CREATE TABLE msg_part (key bigint, val real) USING ps;
SELECT ps_push('msg_part', '{90000}', '{3e38}') > 0 AS pushed;
\set range_push '''5053 01 01 4200 0000 a0860100 01000000 4400000000000000 0100000000000000 0100000000000000'' || repeat(''e6b1617f'', 100000)'
SELECT ps_push_msg('msg_part', msg(:range_push)) > 0 AS pushed;
SELECT count(*) FILTER (WHERE v = 3e38::real) AS written, count(*) FILTER (WHERE v = 0) AS not_written
  FROM unnest(ps_pull_range('msg_part', 1, 100001)) v;
SELECT ps_push('msg_part', '{90000}', '{-3e38}') > 0 AS pushed;
SELECT ps_push_msg('msg_part', msg(replace(:range_push, '4200', 'c200'))) > 0 AS pushed;
SELECT count(*) FILTER (WHERE v = 3e38::real) AS written, count(*) AS keys
  FROM unnest(ps_pull_range('msg_part', 1, 100001)) v;
-- and sent a third time, it is complete: nothing changes
SELECT ps_push_msg('msg_part', msg(replace(:range_push, '4200', 'c200'))) > 0 AS pushed;
SELECT count(*) FILTER (WHERE v = 3e38::real) AS written FROM unnest(ps_pull_range('msg_part', 1, 100001)) v;
-- A push that failed is not taken for applied when a later push of its
-- client succeeded first: the later push records it as unfinished.  Key 1
-- of msg_fail holds 3e38, so client 0x55's push 1 of 3e38 to it
-- overflows, writing nothing; its push 2 (key 2) succeeds.
CREATE TABLE msg_fail (key bigint, val real) USING ps;
SELECT ps_push('msg_fail', '{1}', '{3e38}') > 0 AS pushed;
SELECT ps_push_msg('msg_fail', msg('5053 01 01 4000 0000 01000000 01000000 5500000000000000 0100000000000000 01000000 02 e6b1617f'));
SELECT ps_push_msg('msg_fail', msg('5053 01 01 4000 0000 01000000 01000000 5500000000000000 0200000000000000 01000000 04 0000803f')) > 0 AS pushed;
-- Key 1 back to 0, push 1 sent again: applied now, once.
SELECT ps_push('msg_fail', '{1}', '{-3e38}') > 0 AS pushed;
SELECT ps_push_msg('msg_fail', msg('5053 01 01 c000 0000 01000000 01000000 5500000000000000 0100000000000000 01000000 02 e6b1617f')) > 0 AS pushed;
SELECT ps_push_msg('msg_fail', msg('5053 01 01 c000 0000 01000000 01000000 5500000000000000 0100000000000000 01000000 02 e6b1617f')) > 0 AS pushed;
SELECT ps_pull('msg_fail', '{1,2}') = '{3e38,1}'::real[] AS once_each;
-- Two failed pushes (client 0x66's 1 and 2, both overflowing key 1) before
-- a third succeeds: the record keeps how far the later got, and the
-- earlier cannot be told apart from an applied one (PS002).
SELECT ps_push_msg('msg_fail', msg('5053 01 01 4000 0000 01000000 01000000 6600000000000000 0100000000000000 01000000 02 e6b1617f'));
SELECT ps_push_msg('msg_fail', msg('5053 01 01 4000 0000 01000000 01000000 6600000000000000 0200000000000000 01000000 02 e6b1617f'));
SELECT ps_push_msg('msg_fail', msg('5053 01 01 4000 0000 01000000 01000000 6600000000000000 0300000000000000 01000000 04 0000803f')) > 0 AS pushed;
SELECT ps_push_msg('msg_fail', msg('5053 01 01 c000 0000 01000000 01000000 6600000000000000 0100000000000000 01000000 02 e6b1617f'));
SELECT ps_push('msg_fail', '{1}', '{-3e38}') > 0 AS pushed;
SELECT ps_push_msg('msg_fail', msg('5053 01 01 c000 0000 01000000 01000000 6600000000000000 0200000000000000 01000000 02 e6b1617f')) > 0 AS pushed;
SELECT ps_pull('msg_fail', '{1,2}') = '{3e38,2}'::real[] AS once_each;

-- A push with flag 0001 (in the flags' high byte: 0x0100) is answered once
-- applied, its WAL flushed later (by the WAL writer, or by the session's
-- next push with flag 0002, 0x0200: answered once everything the session
-- wrote is flushed).  The values are the same either way.
SELECT ps_push_msg('msg_once', msg('5053 01 01 4001 0000 01000000 01000000 1100000000000000 0300000000000000 01000000 02 0000803f')) > 0 AS pushed;
SELECT ps_push_msg('msg_once', msg('5053 01 01 0002 0000 00000000 00000000 00000000')) > 0 AS synced;
SELECT ps_pull('msg_once', '{1}');
-- both at once, or on a pull: refused
SELECT ps_push_msg('msg_once', msg('5053 01 01 0003 0000 00000000 00000000 00000000'));
SELECT ps_pull_msg('msg_once', msg('5053 01 02 0001 0000 01000000 00000000 01000000 02'));
-- Refused: client 0, seq 0, a pull with an id, a resent push without one
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 01000000 01000000 0000000000000000 0100000000000000 01000000 02 0000803f'));
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 01000000 01000000 1100000000000000 0000000000000000 01000000 02 0000803f'));
SELECT ps_pull_msg('msg_once', msg('5053 01 02 4000 0000 01000000 00000000 1100000000000000 0100000000000000 01000000 02'));
SELECT ps_push_msg('msg_once', msg('5053 01 01 8000 0000 01000000 01000000 01000000 02 0000803f'));
SELECT ps_push_msg('msg_once', msg('5053 01 01 4000 0000 01000000 01000000 1100000000000000 01000000'));
SELECT ps_pull('msg_once', '{1,5,300}') AS unchanged;

--
-- Bad messages: each refused with its reason, and nothing changes
--
SELECT ps_pull('msg_w', '{1,5,300}') AS before;
-- cut short
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 03000000 01000000 04000000 02 04 a702 0000803f 00000040 0000'));
-- not a message at all
SELECT ps_push_msg('msg_w', 'hello world, this is not a message'::bytea);
-- another version
SELECT ps_push_msg('msg_w', msg('5053 09 01 0000 0000 01000000 01000000 01000000 02 0000803f'));
-- a pull sent to ps_push_msg, and a push to ps_pull_msg
SELECT ps_push_msg('msg_w', msg('5053 01 02 0000 0000 01000000 00000000 01000000 02'));
SELECT ps_pull_msg('msg_w', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803f'));
-- keys that do not ascend (5 after 5: a gap of 0)
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 02000000 01000000 02000000 0a 00 0000803f 0000803f'));
-- a count of 2^31 - 1 keys backed by 2 bytes: refused before anything is allocated
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 ffffff7f 00000000 02000000 0202'));
-- trailing bytes
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803f 00'));
-- a NaN value (0000c07f) and an infinite one (0000807f)
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 02000000 01000000 02000000 02 04 0000803f 0000c07f'));
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000807f'));
-- dim 2 for a table of dim 1, in a push and in a pull
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 01000000 02000000 01000000 02 0000803f 0000803f'));
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 01000000 02000000 01000000 02'));
-- more keys than ps.max_request_keys
SET ps.max_request_keys = 2;
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 03000000 01000000 04000000 02 04 a702 0000803f 00000040 00004040'));
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0200 0000 03000000 00000000 0000000000000000'));
RESET ps.max_request_keys;
-- a worker that did not join, a NULL message, a table that is not a ps table
SELECT ps_push_msg('msg_w', msg('5053 01 01 0100 0000 01000000 01000000 07000000 0100000000000000 01000000 02 0000803f'));
SELECT ps_push_msg('msg_w', NULL);
CREATE TABLE msg_heap (key bigint, val real);
SELECT ps_push_msg('msg_heap', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803f'));
SELECT ps_push_msg('no_such_table', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803f'));
SELECT ps_pull('msg_w', '{1,5,300}') AS after;

--
-- KKT slacks (flag 0x0400, bytes 0004): on an ftrl table with the KKT
-- filter on, a pull asks for each key's slack l1 - |z| beside its weight
-- (-1 for a key whose weight is not 0: none of its pushes is dropped); the
-- answer has the flag and dim 2: weight, slack.  The client library's KKT
-- filter uses them.  It needs UPDATE as well as SELECT (test/t/023_kkt.pl).
--
CREATE TABLE msg_k (key bigint, val real) USING ps;
SELECT update_rule, l1, kkt_filter FROM ps_configure('msg_k', update_rule => 'ftrl', learning_rate => 0.5, l1 => 1);
-- key 1 is pushed out of the L1 ball; z of key 2 becomes 0.25, its weight stays 0
SELECT ps_push('msg_k', '{1,2}', '{3,0.25}') > 0 AS pushed;
SELECT kkt_filter FROM ps_configure('msg_k', kkt_filter => true);
SELECT ps_pull('msg_k', '{1,2,3}');
-- keys 1, 2, 3: (-0.25, -1), (0, 0.75) and, never written, (0, 1)
SELECT encode(ps_pull_msg('msg_k', msg('5053 01 02 0004 0000 03000000 00000000 03000000 02 01 01')), 'hex');
-- the same keys as a range
SELECT ps_pull_msg('msg_k', msg('5053 01 02 0204 0000 03000000 00000000 0100000000000000'))
     = ps_pull_msg('msg_k', msg('5053 01 02 0004 0000 03000000 00000000 03000000 02 01 01')) AS same;
-- refused: a table without the KKT filter; a push asking for slacks
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0004 0000 01000000 00000000 01000000 02'));
SELECT ps_push_msg('msg_k', msg('5053 01 01 0004 0000 01000000 01000000 01000000 02 0000803f'));

--
-- Privileges: pushing needs UPDATE, pulling SELECT, as for ps_push and
-- ps_pull
--
CREATE ROLE msg_reader;
GRANT SELECT ON msg_w TO msg_reader;
SET ROLE msg_reader;
SELECT encode(ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 01000000 00000000 01000000 02')), 'hex');
SELECT ps_push_msg('msg_w', msg('5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803f'));
RESET ROLE;
REVOKE SELECT ON msg_w FROM msg_reader;
SET ROLE msg_reader;
SELECT ps_pull_msg('msg_w', msg('5053 01 02 0000 0000 01000000 00000000 01000000 02'));
RESET ROLE;
SELECT ps_pull('msg_w', '{1}') AS unchanged;
DROP ROLE msg_reader;
DROP TABLE msg_w, msg_v, msg_heap, msg_once, msg_part, msg_fail, msg_k;
DROP FUNCTION msg(text);
