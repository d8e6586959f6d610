# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 027_ring.pl: the consistent-hashing ring (src/common/ps_ring.c) on its
# own, built with AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   - The ring is sorted, and the same for the same nodes in any order.
#   - A key's owner is what a scan of the tokens finds, over the whole
#     bigint range and at every token's position and its neighbours.
#   - A key range splits into pieces that cover it exactly, one owner each.
#   - A token's holders are its node and the next distinct nodes clockwise.
#   - A node added takes keys only to itself; a node removed gives away only
#     its keys; 3 nodes of 16 virtual nodes each hold 15 % to 55 %.
#   - Bad node lists are refused with their reason.
#
# The checks are test/unit/ps_ring_test.c; PsUnit (test/lib) builds and runs it
# and passes its TAP lines on.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use PsUnit;
use Test::More;

run_unit_test("$FindBin::RealBin/../..", 'ps_ring_test', 30, 'ps_ring.c');
done_testing();
