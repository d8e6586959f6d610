# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 017_wire.pl: the wire format's codec (src/common/ps_wire.c) on its own,
# built with AddressSanitizer and UndefinedBehaviorSanitizer, so that a
# read or write outside a message or an array, or an overflow, aborts the
# run instead of passing unseen.
#
#   - Every message the encoder writes decodes to exactly what was encoded:
#     pushes, pulls and values; keys over the whole bigint range, ranges up
#     to the largest bigint, dense and sparse values, with and without a
#     worker.
#   - No prefix of a valid message is accepted, and every single-bit change
#     of one is refused or decodes within its bounds.
#   - Each hostile field is refused with its own reason (see ps_wire.h).
#
# The checks are test/unit/ps_wire_test.c; PsUnit (test/lib) builds and runs it
# and passes its TAP lines on.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use PsUnit;
use Test::More;

run_unit_test("$FindBin::RealBin/../..", 'ps_wire_test', 55, 'ps_wire.c');
done_testing();
