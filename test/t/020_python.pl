# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 020_python.pl: the Python encoder (test/python/ps_wire.py, with numpy
# and psycopg 3 from Debian) and its example against a real server.
#
#   - The encoder writes exactly the bytes of sql/ps_msg.sql's messages,
#     and the decoder reads the server's dense and sparse answers.
#   - The example's worker loop (test/python/example.py): every pull sees
#     exactly the pushes before it, the table ends up with the sums numpy
#     kept, ranges work, and the worker's clock moved.
use strict;
use warnings;

use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = "$FindBin::RealBin/../..";
my $python = '/usr/bin/python3';    # Debian's, which has python3-psycopg
my ($ok, $out, $err);

$ok = IPC::Run::run(
	[
		$python, '-c', qq{
import sys
sys.path.insert(0, "$root/test/python")
import numpy as np, ps_wire
m = ps_wire.encode(ps_wire.PUSH, 3, 1, keys=[1, 5, 300], vals=np.array([1, 2, 3], dtype=np.float32))
print(m.hex())
m = ps_wire.encode(ps_wire.PULL, 2, 0, keys=[-9223372036854775808, 9223372036854775807], worker=1, clock=5)
print(m.hex())
a = bytes.fromhex("50530103040000006400000001000000040000000103040100000040000080400000003f00004040")
v = ps_wire.decode_values(a)[:, 0]
print(np.flatnonzero(v).tolist(), v[np.flatnonzero(v)].tolist())
}
	],
	'>', \$out, '2>', \$err);
ok($ok, 'the encoder runs') or diag($err);
my @lines = split /\n/, $out;
is($lines[0], '5053010100000000030000000100000004000000020' . '4a7020000803f0000004000004040',
	'a push of keys 1, 5, 300 is byte for byte the one of sql/ps_msg.sql');
is($lines[1], '50530102010000000200000000000000010000000500000000000000' . '14000000ffffffffffffffffff01ffffffffffffffffff01',
	'a worker\'s pull of the extreme keys: worker section, zigzag and a gap of 2^64 - 1');
is($lines[2], '[1, 5, 10, 12] [2.0, 4.0, 0.5, 3.0]', 'a sparse answer decodes to its values at their positions');

my $node = PostgreSQL::Test::Cluster->new('python');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps');
$ok = IPC::Run::run([ $python, "$root/test/python/example.py", $node->connstr('postgres') ],
	'>', \$out, '2>', \$err);
ok($ok, 'the example runs') or diag($err);
is( $out, "20 iterations: every pull saw exactly the pushes before it
table equals the sums kept in numpy: True
range pull equals them too: True
range push: [0. 1. 1. 0.]
worker clock: 19
", 'and everything it checks holds');
$node->stop;
done_testing();
