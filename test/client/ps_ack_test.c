/*
 * ps_ack_test.c
 *	  Pushes acknowledged at one of the library's two points, for
 *	  test/t/022_ack.pl, which kills the server right after:
 *
 *	  ps_ack_test CONNINFO TABLE durable|applied N
 *
 * Makes N pushes of 1.0 to key i % 100 (8 in flight), waits for the last
 * (and so every one), prints "acknowledged N" and exits without closing,
 * as a client that crashed would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ps_client.h>

int
main(int argc, char **argv)
{
	char	   *err = NULL;
	PsClient   *c;
	int			n,
				i;
	int64_t		t = 0;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s CONNINFO TABLE durable|applied N\n", argv[0]);
		return 2;
	}
	c = ps_client_connect(argv[1], &err);
	if (c == NULL)
	{
		fprintf(stderr, "cannot connect: %s\n", err);
		return 1;
	}
	if (ps_client_set_ack(c, strcmp(argv[3], "applied") == 0 ?
						  PS_CLIENT_ACK_APPLIED : PS_CLIENT_ACK_DURABLE) != 0 ||
		ps_client_set_ack(c, 7) != -1)
	{
		fprintf(stderr, "ps_client_set_ack: %s\n", ps_client_error(c));
		return 1;
	}
	n = atoi(argv[4]);
	for (i = 0; i < n; i++)
	{
		int64_t		key = i % 100;
		float		one = 1.0f;

		t = ps_client_push(c, argv[2], &key, 1, &one, NULL);
		if (t < 0 || (i >= 8 && ps_client_wait(c, t - 8) != 0))
		{
			fprintf(stderr, "push %d: %s\n", i, ps_client_error(c));
			return 1;
		}
	}
	if (ps_client_wait(c, t) != 0)
	{
		fprintf(stderr, "the last push: %s\n", ps_client_error(c));
		return 1;
	}
	printf("acknowledged %d in flight %d\n", n, ps_client_in_flight(c));
	fflush(stdout);
	return 0;
}
